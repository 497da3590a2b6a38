/**
 * The build matrix: families × CUDA × Python cells and the image names they give. A leaf module
 * (structural inputs, no imports), so config validation and the image graph can both use it.
 */

/** The stack matrix axes (`mlci:matrix`). */
export interface MatrixAxes {
    cuda: string[];
    python: string[];
}

/** What a family says about the matrix: CPU-only, and an optional restriction. */
export interface FamilyAxes {
    cpuOnly: boolean;
    matrix?: { cuda?: string[]; python?: string[] };
}

/** The `cudaX.Y` label of a full CUDA version. */
export function cudaShort(version: string): string {
    return version.split(".").slice(0, 2).join(".");
}
/** A CUDA × Python cell; `cuda` is undefined for CPU-only families. */
export interface MatrixCell {
    cuda?: string;
    python: string;
    /** `cuda12.4-py3.11` or `py3.11`: the image-name suffix and tag prefix. */
    label: string;
}

/** The cells a family is built for: the stack matrix, narrowed by the family's restriction. */
export function familyCells(family: FamilyAxes, matrix: MatrixAxes): MatrixCell[] {
    const pythons = matrix.python.filter((p) => !family.matrix?.python || family.matrix.python.includes(p));
    if (family.cpuOnly) return pythons.map((python) => ({ python, label: `py${python}` }));
    const cudas = matrix.cuda.filter((c) => !family.matrix?.cuda || family.matrix.cuda.includes(c));
    return cudas.flatMap((cuda) => pythons.map((python) => ({ cuda, python, label: `cuda${cudaShort(cuda)}-py${python}` })));
}

/** An image's name: `<family>-<cell label>`, e.g. `nightly-cuda12.4-py3.11`. */
export function imageName(family: string, cell: Pick<MatrixCell, "label">): string {
    return `${family}-${cell.label}`;
}

/** Every image name of a stack, family by family. */
export function stackImageNames(config: { families: (FamilyAxes & { name: string })[]; matrix: MatrixAxes }): string[] {
    return config.families.flatMap((f) => familyCells(f, config.matrix).map((c) => imageName(f.name, c)));
}
