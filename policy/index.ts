/**
 * Entry point of the ml-ci-images guardrails policy pack: `pulumi preview --policy-pack ./policy` from the project
 * root. Only this file constructs the PolicyPack (which connects to the engine); the rules live in `./rules`.
 */
import { PolicyPack } from "@pulumi/policy";
import { guardrailPolicies } from "./rules";

new PolicyPack("ml-ci-images-guardrails", {
    enforcementLevel: "mandatory",
    policies: guardrailPolicies,
});
