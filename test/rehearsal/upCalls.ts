/**
 * The AWS calls an `up` makes, derived from what the world saw it do: for each resource applied, the calls
 * of its create and read in terraform-provider-aws (internal/service/<svc>/<resource>.go, the provider that
 * pulumi-aws 7.48 bundles), on that resource's real ARN; for each data source, the calls of its read; for
 * each pushed image and promotion, the registry calls (docs/aws-apis.md). Independent of the manifest, so
 * the rehearsal can check both that the role allows them and that the manifest lists them.
 */
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { AwsCall } from "./actors";
import { ACCOUNT_ID, REGION, REGISTRY } from "./awsAccount";
import { UpResult, World } from "./world";

const repoArn = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${name}`;
const hasTags = (inputs: Record<string, any>) => inputs.tags !== undefined && Object.keys(inputs.tags).length > 0;

/** Every call of the `up`, with why. */
export async function upCalls(world: World, up: UpResult): Promise<AwsCall[]> {
    const calls: AwsCall[] = [];
    const add = (why: string, resource: string, actions: string[], context?: Record<string, string>) => actions.forEach((action) => calls.push({ action, resource, why, context }));
    const roleArn = async (name: string) => (await world.aws.iam.send(new GetRoleCommand({ RoleName: name }))).Role!.Arn!;
    for (const r of up.applied) {
        const i = r.inputs;
        const why = `${r.type} ${r.name}`;
        switch (r.type) {
            case "aws:ecr/repository:Repository": // resource_repository.go: CreateRepository (tags in the request), DescribeRepositories, ListTagsForResource
                add(why, repoArn(i.name), ["ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:ListTagsForResource", ...(hasTags(i) ? ["ecr:TagResource"] : [])]);
                break;
            case "aws:ecr/repositoryPolicy:RepositoryPolicy": // repository_policy.go: SetRepositoryPolicy, GetRepositoryPolicy
                add(why, repoArn(i.repository), ["ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy"]);
                break;
            case "aws:ecr/lifecyclePolicy:LifecyclePolicy": // lifecycle_policy.go: PutLifecyclePolicy, GetLifecyclePolicy
                add(why, repoArn(i.repository), ["ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy"]);
                break;
            case "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": // registry_scanning_configuration.go
                add(why, "*", ["ecr:PutRegistryScanningConfiguration", "ecr:GetRegistryScanningConfiguration"]);
                break;
            case "aws:ecr/replicationConfiguration:ReplicationConfiguration": // replication_configuration.go: PutReplicationConfiguration, DescribeRegistry
                add(why, "*", ["ecr:PutReplicationConfiguration", "ecr:DescribeRegistry"]);
                break;
            case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": // pull_through_cache_rule.go
                add(why, repoArn(i.ecrRepositoryPrefix), ["ecr:CreatePullThroughCacheRule", "ecr:DescribePullThroughCacheRules"]);
                break;
            case "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": // repository_creation_template.go
                add(why, "*", ["ecr:CreateRepositoryCreationTemplate", "ecr:DescribeRepositoryCreationTemplates"]);
                break;
            case "aws:iam/role:Role": // role.go: CreateRole (tags in the request), GetRole, ListRolePolicies, ListAttachedRolePolicies
                // CreateRole carries the role's permissions boundary (the deploy policy's iam:PermissionsBoundary condition).
                add(why, r.state.arn, ["iam:CreateRole"], i.permissionsBoundary !== undefined ? { "iam:PermissionsBoundary": i.permissionsBoundary } : undefined);
                add(why, r.state.arn, ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", ...(hasTags(i) ? ["iam:TagRole"] : [])]);
                break;
            case "aws:iam/policy:Policy": // policy.go: CreatePolicy, GetPolicy, GetPolicyVersion
                add(why, r.state.arn, ["iam:CreatePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", ...(hasTags(i) ? ["iam:TagPolicy"] : [])]);
                break;
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment": // role_policy_attachment.go: AttachRolePolicy, ListAttachedRolePolicies
                add(why, await roleArn(i.role), ["iam:AttachRolePolicy"], { "iam:PolicyARN": i.policyArn });
                add(why, await roleArn(i.role), ["iam:ListAttachedRolePolicies"]);
                break;
            case "aws:iam/rolePolicy:RolePolicy": // role_policy.go: PutRolePolicy, GetRolePolicy
                add(why, await roleArn(i.role), ["iam:PutRolePolicy", "iam:GetRolePolicy"]);
                break;
            case "aws:iam/instanceProfile:InstanceProfile": // instance_profile.go: CreateInstanceProfile, AddRoleToInstanceProfile, GetInstanceProfile
                add(why, r.state.arn, ["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:GetInstanceProfile", ...(hasTags(i) ? ["iam:TagInstanceProfile"] : [])]);
                // "The caller of this operation must be granted the PassRole permission on the IAM role"
                // (https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html).
                add(why, await roleArn(i.role), ["iam:PassRole"], { "iam:PassedToService": "ec2.amazonaws.com" });
                break;
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": // openid_connect_provider.go
                add(why, r.state.arn, ["iam:CreateOpenIDConnectProvider", "iam:GetOpenIDConnectProvider", ...(hasTags(i) ? ["iam:TagOpenIDConnectProvider"] : [])]);
                break;
            case "docker-build:index:Image": // a push: docker's registry calls (docs/aws-apis.md)
            case "docker-build:index:Index":
                for (const tag of [...(i.tags ?? []), ...(typeof i.tag === "string" ? [i.tag] : [])] as string[]) {
                    if (!tag.startsWith(`${REGISTRY}/`) || i.push !== true) continue;
                    const repo = tag.slice(REGISTRY.length + 1).replace(/:[^:]+$/, "");
                    add(why, repoArn(repo), ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]);
                }
                break;
            case "command:local:Command": {
                // The promotion: the scan gate reads findings (and the manifest of an index), the retag GETs and PUTs the manifest.
                const m = /ci-images retag (\S+)@sha256/.exec(String(i.create ?? ""));
                if (m && m[1].startsWith(`${REGISTRY}/`)) {
                    const repo = repoArn(m[1].slice(REGISTRY.length + 1));
                    if (/ci-images scan-gate/.test(i.create)) add(why, repo, ["ecr:DescribeImageScanFindings", "ecr:BatchGetImage"]);
                    add(why, repo, ["ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"]);
                }
                break;
            }
            default:
                break; // GitHub resources, providers and components make no AWS call
        }
    }
    for (const c of up.calls) {
        const why = `data source ${c.token}`;
        switch (c.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                add(why, "*", ["sts:GetCallerIdentity"]);
                break;
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                add(why, "*", ["ecr:GetAuthorizationToken"]);
                break;
            case "aws:ecr/getImages:getImages": // images_data_source.go: ListImages
                add(why, repoArn(c.inputs.repositoryName), ["ecr:ListImages"]);
                break;
            case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": // openid_connect_provider_data_source.go: by URL, List then Get
                add(why, "*", ["iam:ListOpenIDConnectProviders"]);
                add(why, `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com`, ["iam:GetOpenIDConnectProvider"]);
                break;
            default:
                break; // getRegion, getPartition: no API call
        }
    }
    // One entry per action and resource.
    const seen = new Set<string>();
    return calls.filter((c) => {
        const k = `${c.action} ${c.resource} ${JSON.stringify(c.context ?? {})}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
    });
}
