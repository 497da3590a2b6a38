/**
 * #27 review, finding 6: the deploy policy's rights follow what terraform-provider-aws and Pulumi really call
 * (iam-simulate decides, test/simulatedPolicies.ts):
 * - aws.iam.Role's description update calls iam:UpdateRoleDescription (role.go);
 * - the stack that owns RegistryScanningConfiguration reads it with its deploy policy alone;
 * - a referenced Docker Hub secret is never read by the pipeline: pull_through_cache_rule.go calls no Secrets
 *   Manager API, ECR's service-linked role AWSServiceRoleForECRPullThroughCache reads it, and the first cache rule
 *   creates that role (iam:CreateServiceLinkedRole, iam:AWSServiceName = pullthroughcache.ecr.amazonaws.com);
 * - the awskms secrets provider only decrypts the committed `encryptedkey` (pulumi/pulumi pkg/secrets/cloud/manager.go:
 *   Encrypt only in generateNewDataKey).
 */
import * as assert from "assert";
import { deployPolicy, DeployPolicyArgs } from "../lib/access/deployPolicy";
import { simulatedAllow } from "./simulatedPolicies";

const ACCOUNT = "123456789012";
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;
const SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:ecr-pullthroughcache/docker-hub`;
const PTC_ROLE = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/pullthroughcache.ecr.amazonaws.com/AWSServiceRoleForECRPullThroughCache`;
const prod: DeployPolicyArgs = {
    stack: "prod", accountId: ACCOUNT, region: "us-east-1", registryPrefix: "ml-ci", manageRegistrySettings: true, replicates: false,
    pullThroughCache: { prefix: "docker-hub", credentialSecretArn: SECRET }, oidcProvider: "create",
    stateBackend: { type: "s3", bucket: "ml-ci-pulumi-state", prefix: "ml-ci-images" }, secretsKeyArn: KEY,
};

describe("deploy policy rights follow the provider's and Pulumi's real calls (#27 review, finding 6)", () => {
    const doc = deployPolicy(prod);

    it("aws.iam.Role description updates: iam:UpdateRoleDescription on the stack's roles only", async () => {
        assert.ok(await simulatedAllow([doc], "iam:UpdateRoleDescription", `arn:aws:iam::${ACCOUNT}:role/ml-ci-images/prod/runner-access-role-a1b2c3d`));
        assert.ok(!(await simulatedAllow([doc], "iam:UpdateRoleDescription", `arn:aws:iam::${ACCOUNT}:role/admin`)));
    });

    it("the registry settings' owner reads the scanning configuration with the deploy policy alone; a stack that does not own them cannot", async () => {
        assert.ok(await simulatedAllow([doc], "ecr:GetRegistryScanningConfiguration", "*"));
        assert.ok(!(await simulatedAllow([deployPolicy({ ...prod, manageRegistrySettings: false })], "ecr:GetRegistryScanningConfiguration", "*")));
    });

    it("no Secrets Manager right on the referenced Docker Hub secret (any suffix); ECR's pull-through cache service-linked role may be created, for that service only", async () => {
        for (const action of ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]) {
            for (const arn of [`${SECRET}-AbCdEf`, SECRET]) assert.ok(!(await simulatedAllow([doc], action, arn)), `${action} on ${arn}`);
        }
        assert.ok(await simulatedAllow([doc], "iam:CreateServiceLinkedRole", PTC_ROLE, { "iam:AWSServiceName": "pullthroughcache.ecr.amazonaws.com" }));
        assert.ok(!(await simulatedAllow([doc], "iam:CreateServiceLinkedRole", PTC_ROLE, { "iam:AWSServiceName": "ec2.amazonaws.com" })));
        assert.ok(!(await simulatedAllow([deployPolicy({ ...prod, pullThroughCache: undefined })], "iam:CreateServiceLinkedRole", PTC_ROLE, { "iam:AWSServiceName": "pullthroughcache.ecr.amazonaws.com" })));
    });

    it("the state's KMS key: kms:Decrypt only, no Encrypt or GenerateDataKey", async () => {
        assert.ok(await simulatedAllow([doc], "kms:Decrypt", KEY));
        for (const action of ["kms:Encrypt", "kms:GenerateDataKey"]) assert.ok(!(await simulatedAllow([doc], action, KEY)), action);
    });
});
