// The Lambda functions Copilot renders around the manifests, and under which manifest setting:
// written once, here, each with the aws/copilot-cli v1.33.2 file it comes from. Every one is a
// custom resource's handler, rendered with `Runtime: nodejs20.x` (git grep "Runtime: nodejs"
// v1.33.2 -- internal/pkg/template/templates: sixteen lines, all listed below). Read with the
// conditions around each `include` in the stack's template; `createdWhen` is a CloudFormation
// Condition: the function is in the rendered template (so a YAML patch can reach it) but is
// created only when the condition holds.
//
// `npm run lint` (scripts/checks/lambda-runtimes.ts) predicts from this which functions each
// manifest in copilot/ renders and demands a patch for each; `deploy.ts` checks what Copilot
// actually renders (`copilot svc|env package`) before it changes anything.
import type { EnvironmentManifest, ServiceManifest } from './manifests.ts';
import { fieldAt } from './value-at.ts';

/** Copilot's runtime for every custom-resource function at the audited tag. */
export const COPILOT_RENDERED_RUNTIME = 'nodejs20.x';

export interface RenderedFunction<M = never> {
  logicalId: string;
  /** aws/copilot-cli v1.33.2, under internal/pkg/template/templates/. */
  file: string;
  /** The manifest setting that renders it, in words. */
  renderedWhen: string;
  /** The CloudFormation Condition it is created under, when it has one. */
  createdWhen?: string;
  /** Whether a manifest renders it (the stacks this project's manifests can produce). */
  rendered?: (manifest: M) => boolean;
}

/**
 * A manifest field by dotted path, whatever the schema says (it may grow). YAML's null (`key:`
 * with nothing after it) is unset: Copilot's yaml.v3 decodes it to a nil pointer or slice.
 */
function field(manifest: unknown, dotted: string): unknown {
  return fieldAt(manifest, dotted) ?? undefined;
}

const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `http.public.certificates` lists one. The templates'
 * `{{- if not .PublicHTTPConfig.ImportedCertARNs}}` holds for an empty list too (an empty slice
 * is false in a Go template).
 */
const importsCertificates = (m: EnvironmentManifest) => {
  const arns = field(m, 'http.public.certificates');
  return Array.isArray(arns) && arns.length > 0;
};

/** cf.yml `{{- if .CDNConfig}}`: `cdn: true` or a map (stack/env.go cdnConfig, CDNEnabled). */
const cdnEnabled = (m: EnvironmentManifest) => {
  const cdn = field(m, 'cdn');
  return cdn !== undefined && cdn !== false;
};

/** backend/cf.yml: the functions of a Backend Service stack. */
export const BACKEND_SERVICE_FUNCTIONS: RenderedFunction<ServiceManifest>[] = [
  {
    logicalId: 'EnvControllerFunction',
    file: 'workloads/partials/cf/env-controller.yml',
    renderedWhen: 'always (backend/cf.yml includes env-controller unconditionally)',
    rendered: () => true,
  },
  {
    logicalId: 'RulePriorityFunction',
    file: 'workloads/partials/cf/alb.yml',
    renderedWhen:
      '`http` is set (backend/cf.yml `{{- if .ALBListener}}`; stack/transformers.go convertALBListener: nil when manifest.HTTP.IsEmpty())',
    rendered: (m) => isMap(field(m, 'http')),
  },
  {
    logicalId: 'DynamicDesiredCountFunction',
    file: 'workloads/partials/cf/autoscaling.yml',
    renderedWhen:
      '`count` is a map (range, cpu_percentage, ...) without `count.spot` (backend/cf.yml `{{- if .Autoscaling}}`; stack/transformers.go convertAutoscaling)',
    rendered: (m) => isMap(field(m, 'count')) && field(m, 'count.spot') === undefined,
  },
];

/** environment/cf.yml: the functions of the environment stack. */
export const ENVIRONMENT_FUNCTIONS: RenderedFunction<EnvironmentManifest>[] = [
  ...(
    ['CertificateValidationFunction', 'CustomDomainFunction', 'DNSDelegationFunction'] as const
  ).map((logicalId) => ({
    logicalId,
    file: 'environment/partials/lambdas.yml',
    renderedWhen:
      'no `http.public.certificates` (cf.yml `{{- if not .PublicHTTPConfig.ImportedCertARNs}}` around `include "lambdas"`)',
    createdWhen:
      logicalId === 'CustomDomainFunction'
        ? 'ManagedAliases: the application has a domain, the environment aliases and a public ALB'
        : 'DelegateDNS: the application has a domain (copilot app init --domain)',
    rendered: (m: EnvironmentManifest) => !importsCertificates(m),
  })),
  {
    logicalId: 'BucketCleanerFunction',
    file: 'environment/partials/elb-access-logs.yml',
    renderedWhen:
      '`http.public.access_logs` without a bucket of your own (cf.yml `{{- if .PublicHTTPConfig.ELBAccessLogs.ShouldCreateBucket }}`)',
    // template/env.go ShouldCreateBucket: `BucketName == ""`, so an empty name is no bucket either.
    rendered: (m) => {
      const logs = field(m, 'http.public.access_logs');
      const bucket = field(logs, 'bucket_name');
      return logs === true || (isMap(logs) && (bucket === undefined || bucket === ''));
    },
  },
  // cdn-resources.yml also wraps it in `{{- if or .CDNConfig.ImportedCertificate .DelegateDNS}}`:
  // Copilot renders it only with `cdn.certificate` or an application domain. Predicted from `cdn`
  // alone: no manifest says whether the application has a domain, and no environment manifest
  // here can set `cdn` (manifests.ts).
  {
    logicalId: 'UniqueJSONValuesFunction',
    file: 'environment/partials/cdn-resources.yml',
    renderedWhen: '`cdn` is set (cf.yml `{{- if .CDNConfig}}`)',
    createdWhen: 'CreateALB',
    rendered: cdnEnabled,
  },
  {
    logicalId: 'CertificateReplicatorFunction',
    file: 'environment/partials/cdn-resources.yml',
    renderedWhen:
      '`cdn` is set without `cdn.certificate` or `http.public.certificates` (cf.yml `{{- if .CDNConfig}}`; cdn-resources.yml `{{- if .CDNConfig.ImportedCertificate}}` ... `{{- else}}{{- if not .PublicHTTPConfig.ImportedCertARNs}}`)',
    createdWhen: 'DelegateDNS',
    rendered: (m) =>
      cdnEnabled(m) && field(m, 'cdn.certificate') === undefined && !importsCertificates(m),
  },
];

/**
 * The other workload types' functions: no manifest of this project renders them (its schema
 * admits Backend Services only), listed so the catalog covers every `Runtime:` line of the tag.
 */
export const OTHER_WORKLOAD_FUNCTIONS: (RenderedFunction & { workload: string })[] = [
  {
    workload: 'Worker Service',
    logicalId: 'BacklogPerTaskCalculatorFunction',
    file: 'workloads/partials/cf/autoscaling.yml',
    renderedWhen: '`count.queue_delay` (`{{- if .Autoscaling.QueueDelay }}`)',
  },
  ...(
    [
      [
        'NLBCustomDomainFunction',
        '`nlb.alias` is set (lb-web/cf.yml `{{- if .NLB}}`; nlb.yml `{{- if not .NLB.Aliases}}` ... `{{- else}}`)',
      ],
      [
        'NLBCertValidatorFunction',
        'an `nlb` listener on TLS, `nlb.port: 443/tls` (nlb.yml `{{- if .NLB.CertificateRequired }}`; stack/transformers.go isCertRequired)',
      ],
    ] as const
  ).map(([logicalId, renderedWhen]) => ({
    workload: 'Load Balanced Web Service',
    logicalId,
    file: 'workloads/partials/cf/nlb.yml',
    renderedWhen,
    createdWhen: 'HasAssociatedDomain',
  })),
  {
    workload: 'Request-Driven Web Service',
    logicalId: 'CustomDomainFunction',
    file: 'workloads/services/rd-web/cf.yml',
    renderedWhen:
      '`http.alias` is set (`{{if .Alias}}`; also adds an AWS SDK Lambda layer: `Layers: {{ .AWSSDKLayer }}`)',
  },
  ...(
    [
      ['TriggerStateMachineFunction', 'always'],
      [
        'CustomDomainFunction',
        '`http.alias` without `http.certificate` (`{{- if and .StaticSiteAlias (not .StaticSiteCert)}}`)',
      ],
      ['CertificateValidationFunction', '`http.alias` without `http.certificate` (the same block)'],
    ] as const
  ).map(([logicalId, renderedWhen]) => ({
    workload: 'Static Site',
    logicalId,
    file: 'workloads/services/static-site/cf.yml',
    renderedWhen,
  })),
];
