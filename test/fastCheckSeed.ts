/**
 * Loaded by .mocharc.js before any test: every fast-check property runs from one fixed seed, so a
 * run is reproducible and a property can no longer pass or fail by luck. fast-check puts the seed
 * (and the shrunk counterexample's path) in the failure message; `FAST_CHECK_SEED=<n> npm test`
 * explores another seed.
 */
import fc from "fast-check";

/** The seed of every property unless FAST_CHECK_SEED says otherwise (a date, nothing more). */
export const DEFAULT_FAST_CHECK_SEED = 20261207;

/** The seed this run uses. */
export const FAST_CHECK_SEED = /^-?\d+$/.test(process.env.FAST_CHECK_SEED ?? "") ? Number(process.env.FAST_CHECK_SEED) : DEFAULT_FAST_CHECK_SEED;

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: FAST_CHECK_SEED });
