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

/** A local-backend stack of the fixture family (parent → child), pushing to the test registry. */
export function fixtureStack(env: IntegrationEnv): string {
    const port = Number(env.registry.split(":")[1]);
    return `
config:
  mlci:matrix:
    python: ["${env.pythonVersion}"]
  mlci:families:
    parent:
      dockerfile: ${FIXTURES}/parent/Dockerfile
      target: final
      cpuOnly: true
      buildArgs:
        GREETING: "hello from the parent"
    child:
      dockerfile: ${FIXTURES}/child/Dockerfile
      parent: parent
      cpuOnly: true
      buildArgs:
        CHILD_FLAVOR: "vanilla"
  mlci:registry:
    backend: local
    prefix: ${env.namespace}
    local:
      port: ${port}
  mlci:build:
    push: true
    cache: false
    smokeTest:
      enabled: false
${NO_CLOUD}`;
}

