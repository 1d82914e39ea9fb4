// The two security-group rules the path API Gateway -> VPC link -> internal ALB needs, each seen
// from its own side (a security group is stateful, but the VPC link's group must allow the
// connection out and the ALB's group must allow it in): the VPC link group's egress to the
// ALB's group on the listener port, and the ALB group's ingress from the VPC link's group.
// What addons/http-api.yml creates: VpcLinkSecurityGroup's only egress and AlbIngressFromVpcLink.

import {
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { invocation } from '../cli/command.ts';
import { check, type DiagnosticCheck } from './diagnose-verdict.ts';

const LISTENER_PORT = 80;

/** Whether a rule lets TCP to/from `port` through. */
export function coversPort(p: IpPermission, port = LISTENER_PORT): boolean {
  if (p.IpProtocol === '-1') return true;
  return p.IpProtocol === 'tcp' && (p.FromPort ?? 0) <= port && (p.ToPort ?? 0) >= port;
}

const groupsOf = (p: IpPermission) => (p.UserIdGroupPairs ?? []).map((g) => g.GroupId);
const openToAll = (p: IpPermission) => (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0');

export function albIngressCheck(
  albSg: string,
  ingress: IpPermission[],
  linkGroups: string[],
): DiagnosticCheck {
  const name = 'ALB security group admits the VPC link';
  if (linkGroups.length === 0) {
    return check(
      name,
      'WARN',
      "the VPC link's security groups are unknown (see the VPC link check)",
    );
  }
  const admitted = new Set(ingress.filter((p) => coversPort(p)).flatMap(groupsOf));
  const missing = linkGroups.filter((g) => !admitted.has(g));
  if (missing.length === 0) {
    return check(name, 'OK', `${albSg} allows port ${LISTENER_PORT} from ${linkGroups.join(', ')}`);
  }
  return check(
    name,
    'FAIL',
    `${albSg} has no port-${LISTENER_PORT} ingress from ${missing.join(', ')}`,
    `requests time out at the ALB (API Gateway answers 503/504); redeploy the addon, which adds the AlbIngressFromVpcLink rule: ${invocation('deploy')} --only api`,
  );
}

export function linkEgressCheck(
  albSg: string,
  groups: { GroupId?: string | undefined; IpPermissionsEgress?: IpPermission[] | undefined }[],
): DiagnosticCheck {
  const name = 'VPC link security group reaches the ALB';
  const rules = groups.flatMap((g) => (g.IpPermissionsEgress ?? []).filter((p) => coversPort(p)));
  const ids = groups.map((g) => g.GroupId).join(', ') || '(none)';
  if (rules.some((p) => groupsOf(p).includes(albSg))) {
    return check(name, 'OK', `${ids} allows port ${LISTENER_PORT} out to ${albSg}`);
  }
  if (rules.some(openToAll)) {
    return check(name, 'OK', `${ids} allows port ${LISTENER_PORT} out to 0.0.0.0/0`);
  }
  if (rules.some((p) => (p.IpRanges ?? []).length > 0)) {
    return check(
      name,
      'WARN',
      `${ids} allows port ${LISTENER_PORT} out only to ${rules.flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp)).join(', ')}: not checked against the ALB's addresses`,
      `the addon's rule is egress to the ALB's group ${albSg}; redeploy it: ${invocation('deploy')} --only api`,
    );
  }
  return check(
    name,
    'FAIL',
    `${ids} has no port-${LISTENER_PORT} egress to ${albSg}`,
    `connections from the VPC link never leave it (API Gateway answers 503 after its timeout); redeploy the addon, whose VpcLinkSecurityGroup allows exactly that: ${invocation('deploy')} --only api`,
  );
}

/** Both checks, from one DescribeSecurityGroups call. */
export async function securityGroupChecks(
  ec2: EC2Client,
  albSg: string,
  linkGroups: string[],
): Promise<DiagnosticCheck[]> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({ GroupIds: [...new Set([albSg, ...linkGroups])] }),
  );
  const byId = new Map((out.SecurityGroups ?? []).map((g) => [g.GroupId, g]));
  const results = [albIngressCheck(albSg, byId.get(albSg)?.IpPermissions ?? [], linkGroups)];
  if (linkGroups.length) {
    results.push(
      linkEgressCheck(
        albSg,
        linkGroups.map((g) => byId.get(g) ?? { GroupId: g }),
      ),
    );
  }
  return results;
}
