import { IntegrationEnv } from "./env";

/** Project-relative folder of the integration fixture families. */
export const FIXTURES = "test/fixtures-docker/integration";

/** The stack-file tail of a local-registry stack: no IAM, no GitHub (validation requires it with backend local). */
export const NO_CLOUD = `  mlci:access:
    runner:
      enabled: false
    pipeline:
      enabled: false
  mlci:github:
    enabled: false
`;

/** One family of a fixture stack file; optional keys are written only when set. */
export interface FixtureFamily {
    name: string;
    dockerfile: string;
    /** `final` for the families built from the parent fixture. */
    target?: string;
    parent?: string;
    dateRebuilt?: boolean;
    smokeImports?: string[];
    buildArgs: Record<string, string>;
}

/** What varies between the integration suites' local-registry stack files. */
export interface FixtureStackOptions {
    pythonVersion: string;
    families: FixtureFamily[];
    /** mlci:registry prefix (a namespace of its own per suite). */
    prefix: string;
    /** Port of the registry (or of the fault proxy in front of it). */
    port: number | string;
    /** false writes `smokeTest: enabled: false`; unset leaves the smoke test on. */
    smokeTest?: false;
}

/** The stack file of a local-backend, CPU-only, pushing fixture stack: the one writer of that YAML for the integration suites. */
export function fixtureStackYaml(o: FixtureStackOptions): string {
    const families = o.families
        .map((f) =>
            [
                `    ${f.name}:`,
                `      dockerfile: ${f.dockerfile}`,
                ...(f.target ? [`      target: ${f.target}`] : []),
                ...(f.parent ? [`      parent: ${f.parent}`] : []),
                "      cpuOnly: true",
                ...(f.dateRebuilt ? ["      dateRebuilt: true"] : []),
                ...(f.smokeImports ? [`      smokeImports: ${JSON.stringify(f.smokeImports)}`] : []),
                "      buildArgs:",
                ...Object.entries(f.buildArgs).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`),
            ].join("\n"),
        )
        .join("\n");
    return `config:
  mlci:matrix:
    python: ["${o.pythonVersion}"]
  mlci:families:
${families}
  mlci:registry:
    backend: local
    prefix: ${o.prefix}
    local:
      port: ${o.port}
  mlci:build:
    push: true
    cache: false
${o.smokeTest === false ? "    smokeTest:\n      enabled: false\n" : ""}${NO_CLOUD}`;
}

/** The parent fixture as a family (`final` target) with its GREETING build arg. */
export function parentFamily(name: string, greeting: string, dockerfile = `${FIXTURES}/parent/Dockerfile`): FixtureFamily {
    return { name, dockerfile, target: "final", buildArgs: { GREETING: greeting } };
}

/** The smoke fixture (a fake torch that imports goodmod) as a family built FROM `parent`. */
export function smokeFamily(name: string, parent: string): FixtureFamily {
    return { name, dockerfile: `${FIXTURES}/smoke/Dockerfile`, parent, smokeImports: ["goodmod"], buildArgs: { TORCH_VERSION: "2.15.0" } };
}

/** Port of the test registry (`host:port`). */
export const registryPort = (env: IntegrationEnv): number => Number(env.registry.split(":")[1]);

/** A local-backend stack of the fixture family (parent → child), pushing to the test registry. */
export function fixtureStack(env: IntegrationEnv): string {
    return `
${fixtureStackYaml({
    pythonVersion: env.pythonVersion,
    families: [
        parentFamily("parent", "hello from the parent"),
        { name: "child", dockerfile: `${FIXTURES}/child/Dockerfile`, parent: "parent", buildArgs: { CHILD_FLAVOR: "vanilla" } },
    ],
    prefix: env.namespace,
    port: registryPort(env),
    smokeTest: false,
})}`;
}
