// diagnose's verdicts, each walked across its edge with no AWS call: whether a listener rule
// takes the Host the integration sends (ELB host-header conditions: case-insensitive, `*` any
// run of characters, `?` one, every other character literal; a port is not part of the name);
// the verdict on a service's targets (all healthy, some not, none); the VPC link's status; the
// security groups' rules (the port inside the range, protocol -1 any); and the access logs'
// integration errors, most frequent first, the search's bounds said when reached.
import type { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { IpPermission } from '@aws-sdk/client-ec2';
import type { Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { environmentCheck, vpcLinkCheck } from '../../scripts/checks/diagnose-checks.ts';
import { accessLogCheck, MAX_LOG_PAGES } from '../../scripts/checks/diagnose-logs.ts';
import {
  albIngressCheck,
  coversPort,
  linkEgressCheck,
} from '../../scripts/checks/diagnose-network.ts';
import {
  hostCheck,
  hostMatches,
  ruleFor,
  targetHealthVerdict,
} from '../../scripts/checks/diagnose-routing.ts';
import { check, guarded } from '../../scripts/checks/diagnose-verdict.ts';
import { ENV_OUTPUT, INTERNAL_ALB_OUTPUTS } from '../../scripts/cloud/aws.ts';
import { loadWorkspace, type Service } from '../../scripts/workspace/manifests.ts';

const svc = loadWorkspace().services[0] as Service;
const DNS = 'internal-bookstore-test-1234567890.us-east-1.elb.amazonaws.com';

function rule(hosts: string[], paths = [svc.pathPrefix, `${svc.pathPrefix}/*`]): Rule {
  return {
    Conditions: [
      { Field: 'path-pattern', PathPatternConfig: { Values: paths } },
      { Field: 'host-header', HostHeaderConfig: { Values: hosts } },
    ],
  };
}

describe('a host-header value against the Host the integration sends', () => {
  it('matches the same name in any case, with a port or without', () => {
    for (const host of [DNS, DNS.toUpperCase(), `${DNS}:80`, `${DNS}:8080`]) {
      expect({ host, matches: hostMatches(DNS, host) }).toEqual({ host, matches: true });
    }
    expect(hostMatches(DNS.toUpperCase(), DNS)).toBe(true);
  });

  it('does not match a prefix, a suffix or a near spelling of it', () => {
    for (const host of [
      `${DNS}.evil.test`,
      `evil.${DNS}`,
      DNS.slice(0, -1),
      `x${DNS}`,
      DNS.replace('bookstore', 'bookshop'),
      DNS.replaceAll('.', 'x'),
      `${DNS}:`,
      `${DNS}:80x`,
      '',
    ]) {
      expect({ host, matches: hostMatches(DNS, host) }).toEqual({ host, matches: false });
    }
  });

  it('reads * as any run of characters and ? as one, nothing else as a pattern', () => {
    expect(hostMatches('*.bookstore.internal', 'books.bookstore.internal')).toBe(true);
    expect(hostMatches('*.bookstore.internal', '.bookstore.internal')).toBe(true);
    expect(hostMatches('*.bookstore.internal', 'bookstore.internal')).toBe(false);
    expect(hostMatches('books?.internal', 'books1.internal')).toBe(true);
    expect(hostMatches('books?.internal', 'books.internal')).toBe(false);
    expect(hostMatches('books?.internal', 'books12.internal')).toBe(false);
    // A dot is a dot; regular-expression characters are literal.
    expect(hostMatches('a.b', 'axb')).toBe(false);
    expect(hostMatches('a+b', 'aab')).toBe(false);
    expect(hostMatches('a+b', 'a+b')).toBe(true);
    expect(hostMatches('(a|b)', 'a')).toBe(false);
    expect(hostMatches('a$', 'a')).toBe(false);
  });

  it('matches any name against itself and against * (property)', () => {
    fc.assert(
      fc.property(fc.domain(), fc.domain(), (a, b) => {
        expect(hostMatches(a, a.toUpperCase())).toBe(true);
        expect(hostMatches('*', a)).toBe(true);
        expect(hostMatches(a, b)).toBe(a.toLowerCase() === b.toLowerCase());
      }),
    );
  });
});

describe("the Host check of a service's rule", () => {
  it('is OK when a host-header value of the rule takes the Host, FAIL otherwise', () => {
    const r = rule(['books.test.bookstore.internal', DNS]);
    expect(hostCheck(svc, r, DNS.toUpperCase())).toMatchObject({ verdict: 'OK' });
    expect(hostCheck(svc, r, `${DNS}.evil.test`)).toMatchObject({
      verdict: 'FAIL',
      detail: `the ${svc.pathPrefix} rule accepts Host books.test.bookstore.internal, ${DNS}, the integration sends ${DNS}.evil.test`,
    });
  });

  it('needs every host-header condition to take the Host; a rule with none takes any', () => {
    const two: Rule = {
      Conditions: [
        { Field: 'host-header', Values: [DNS] },
        { Field: 'host-header', Values: ['other.example'] },
      ],
    };
    expect(hostCheck(svc, two, DNS).verdict).toBe('FAIL');
    expect(hostCheck(svc, { Conditions: [] }, 'anything.example').verdict).toBe('OK');
  });

  it("is a FAIL naming the deploy when no rule forwards the service's path", () => {
    expect(hostCheck(svc, undefined, DNS)).toMatchObject({
      verdict: 'FAIL',
      detail: `no listener rule forwards ${svc.pathPrefix}`,
      hint: expect.stringMatching(new RegExp(`--only services --service ${svc.name}$`)),
    });
  });

  it("finds the rule by the service's path pattern exactly", () => {
    const other = rule([DNS], ['/api/booksellers', '/api/booksellers/*']);
    const mine = rule([DNS], [`${svc.pathPrefix}/*`]);
    expect(ruleFor([other, mine], svc)).toBe(mine);
    expect(ruleFor([other], svc)).toBeUndefined();
    expect(ruleFor([rule([DNS], [`${svc.pathPrefix}/`])], svc)).toBeUndefined();
    expect(ruleFor([rule([DNS], [svc.pathPrefix])], svc)).toBeDefined();
  });
});

describe("the verdict on a service's targets", () => {
  const minimum = { ...svc, minCount: 2 };
  const verdict = (...states: string[]) => targetHealthVerdict(minimum, states, 'test').verdict;

  it('is OK with every target healthy, at least the manifest minimum of them', () => {
    expect(verdict('healthy', 'healthy')).toBe('OK');
    expect(verdict('healthy', 'healthy', 'healthy')).toBe('OK');
  });

  it('is WARN with any target not healthy, however many are', () => {
    expect(verdict('healthy', 'healthy', 'unhealthy')).toBe('WARN');
    expect(verdict('healthy', 'healthy', 'draining')).toBe('WARN');
    expect(verdict('healthy', 'healthy', 'initial')).toBe('WARN');
    expect(verdict('healthy', 'unused', 'healthy')).toBe('WARN');
    expect(targetHealthVerdict(minimum, ['healthy', 'healthy', 'unhealthy'], 'test')).toEqual({
      name: `target health: ${svc.name}`,
      verdict: 'WARN',
      detail: '2/3 targets healthy (manifest minimum 2); others unhealthy',
      hint: `copilot svc status --name ${svc.name} --env test`,
    });
  });

  it('is WARN below the manifest minimum, even with all healthy', () => {
    expect(verdict('healthy')).toBe('WARN');
  });

  it('is FAIL with none healthy, or none at all', () => {
    expect(verdict('unhealthy', 'unhealthy')).toBe('FAIL');
    expect(verdict()).toBe('FAIL');
    expect(targetHealthVerdict(minimum, ['draining', 'initial', 'draining'], 'test')).toMatchObject(
      {
        detail: '0/3 targets healthy (manifest minimum 2); others draining, initial',
        hint: expect.stringContaining(`check the health check path ${svc.health.path}`),
      },
    );
  });

  it('is OK only when all registered targets are healthy and enough (property)', () => {
    const state = fc.constantFrom('healthy', 'unhealthy', 'initial', 'draining', 'unused');
    fc.assert(
      fc.property(
        fc.array(state, { maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (states, min) => {
          const healthy = states.filter((s) => s === 'healthy').length;
          const expected =
            healthy === 0 ? 'FAIL' : healthy === states.length && healthy >= min ? 'OK' : 'WARN';
          expect(targetHealthVerdict({ ...svc, minCount: min }, states, 'test').verdict).toBe(
            expected,
          );
        },
      ),
    );
  });
});

describe("the VPC link's status", () => {
  const link = (VpcLinkStatus?: string, VpcLinkStatusMessage?: string) =>
    vpcLinkCheck({
      $metadata: {},
      VpcLinkId: 'vl-1',
      ...(VpcLinkStatus ? { VpcLinkStatus } : {}),
      ...(VpcLinkStatusMessage ? { VpcLinkStatusMessage } : {}),
    } as never);

  it('is OK only when AVAILABLE; PENDING and DELETING are WARN; INACTIVE, FAILED and none FAIL', () => {
    expect(link('AVAILABLE')).toEqual({
      name: 'VPC link status',
      verdict: 'OK',
      detail: 'vl-1 is AVAILABLE',
    });
    expect(link('PENDING').verdict).toBe('WARN');
    expect(link('DELETING').verdict).toBe('WARN');
    expect(link('INACTIVE')).toMatchObject({
      verdict: 'FAIL',
      detail: 'vl-1 is INACTIVE: unused for 60 days, its network interfaces were removed',
    });
    expect(link('FAILED', 'subnet gone')).toMatchObject({
      verdict: 'FAIL',
      detail: 'vl-1 is FAILED (subnet gone)',
      hint: expect.stringMatching(/subnets or security group/),
    });
    expect(link(undefined)).toMatchObject({ verdict: 'FAIL', detail: 'vl-1 is UNKNOWN' });
    expect(link('available').verdict).toBe('FAIL');
  });
});

describe("the environment's exports", () => {
  it('is OK with every internal ALB output, FAIL naming each one missing', () => {
    const all = Object.fromEntries(INTERNAL_ALB_OUTPUTS.map((k) => [k, 'x']));
    expect(environmentCheck('app-test', all).verdict).toBe('OK');
    const { [ENV_OUTPUT.listenerArn]: _, ...without } = all;
    expect(
      environmentCheck('app-test', { ...without, [ENV_OUTPUT.listenerArn]: '' }),
    ).toMatchObject({
      verdict: 'FAIL',
      detail: `stack app-test lacks ${ENV_OUTPUT.listenerArn}`,
    });
    expect(environmentCheck('app-test', {}).detail).toBe(
      `stack app-test lacks ${INTERNAL_ALB_OUTPUTS.join(', ')}`,
    );
  });
});

describe('a security-group rule and the listener port', () => {
  const tcp = (FromPort: number, ToPort: number): IpPermission => ({
    IpProtocol: 'tcp',
    FromPort,
    ToPort,
  });

  it('covers port 80 when the range includes it, from either side', () => {
    expect(coversPort(tcp(80, 80))).toBe(true);
    expect(coversPort(tcp(0, 65535))).toBe(true);
    expect(coversPort(tcp(79, 80))).toBe(true);
    expect(coversPort(tcp(80, 81))).toBe(true);
    expect(coversPort(tcp(81, 443))).toBe(false);
    expect(coversPort(tcp(1, 79))).toBe(false);
    expect(coversPort({ IpProtocol: 'tcp' })).toBe(false);
  });

  it('covers any port for protocol -1, none for udp or icmp', () => {
    expect(coversPort({ IpProtocol: '-1' })).toBe(true);
    expect(coversPort({ ...tcp(80, 80), IpProtocol: 'udp' })).toBe(false);
    expect(coversPort({ ...tcp(80, 80), IpProtocol: '6' })).toBe(false);
  });

  it("admits the VPC link into the ALB's group only from each of the link's groups", () => {
    const ingress = [{ ...tcp(80, 80), UserIdGroupPairs: [{ GroupId: 'sg-a' }] }];
    expect(albIngressCheck('sg-alb', ingress, ['sg-a']).verdict).toBe('OK');
    expect(albIngressCheck('sg-alb', ingress, ['sg-a', 'sg-b'])).toMatchObject({
      verdict: 'FAIL',
      detail: 'sg-alb has no port-80 ingress from sg-b',
    });
    const wrongPort = [{ ...tcp(443, 443), UserIdGroupPairs: [{ GroupId: 'sg-a' }] }];
    expect(albIngressCheck('sg-alb', wrongPort, ['sg-a']).verdict).toBe('FAIL');
    expect(albIngressCheck('sg-alb', ingress, []).verdict).toBe('WARN');
  });

  it("lets the link's group out to the ALB's group or anywhere; an address range is WARN", () => {
    const egress = (p: IpPermission) => [{ GroupId: 'sg-a', IpPermissionsEgress: [p] }];
    const toAlb = { ...tcp(80, 80), UserIdGroupPairs: [{ GroupId: 'sg-alb' }] };
    expect(linkEgressCheck('sg-alb', egress(toAlb)).verdict).toBe('OK');
    expect(
      linkEgressCheck('sg-alb', egress({ ...toAlb, UserIdGroupPairs: [{ GroupId: 'sg-x' }] }))
        .verdict,
    ).toBe('FAIL');
    const anywhere = { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    expect(linkEgressCheck('sg-alb', egress(anywhere))).toMatchObject({
      verdict: 'OK',
      detail: 'sg-a allows port 80 out to 0.0.0.0/0',
    });
    const range = { ...tcp(80, 80), IpRanges: [{ CidrIp: '10.0.0.0/16' }] };
    expect(linkEgressCheck('sg-alb', egress(range))).toMatchObject({
      verdict: 'WARN',
      detail:
        "sg-a allows port 80 out only to 10.0.0.0/16: not checked against the ALB's addresses",
    });
    expect(
      linkEgressCheck('sg-alb', egress({ ...tcp(443, 443), IpRanges: [{ CidrIp: '0.0.0.0/0' }] }))
        .verdict,
    ).toBe('FAIL');
    expect(linkEgressCheck('sg-alb', []).detail).toBe('(none) has no port-80 egress to sg-alb');
  });
});

describe('integration errors in the access logs', () => {
  /** A CloudWatch Logs client that answers the pages given, then none. */
  function pages(...answers: { events?: { message?: string }[]; nextToken?: string }[]) {
    const calls: (string | undefined)[] = [];
    const client = {
      send: async (command: FilterLogEventsCommand) => {
        calls.push(command.input.nextToken);
        return answers[calls.length - 1] ?? {};
      },
    } as unknown as CloudWatchLogsClient;
    return { client, calls };
  }
  const window = { startTime: 0, minutes: 60 };
  const error = (message: string) => ({
    message: JSON.stringify({ integrationErrorMessage: message }),
  });

  it('lists the most frequent first, at most five', async () => {
    const events = [
      ...Array.from({ length: 1 }, () => error('a')),
      ...Array.from({ length: 4 }, () => error('b')),
      ...Array.from({ length: 2 }, () => error('c')),
      ...Array.from({ length: 3 }, () => error('d')),
      error('e'),
      error('f'),
      { message: 'not json' },
    ];
    const { client } = pages({ events });
    expect(await accessLogCheck(client, 'group', window)).toMatchObject({
      verdict: 'WARN',
      detail: '4x b; 3x d; 2x c; 1x a; 1x e',
    });
  });

  it('is OK after the last page, naming how many it read', async () => {
    const one = pages({ events: [] });
    expect((await accessLogCheck(one.client, 'group', window)).detail).toBe(
      'none in group in the last 60 min (1 page)',
    );
    const two = pages({ events: [], nextToken: 't' }, { events: [] });
    expect(await accessLogCheck(two.client, 'group', window)).toMatchObject({
      verdict: 'OK',
      detail: 'none in group in the last 60 min (2 pages)',
    });
    expect(two.calls).toEqual([undefined, 't']);
  });

  it(`stops after ${MAX_LOG_PAGES} pages, or 50 errors, and says a search cut short is no all-clear`, async () => {
    const endless = pages(
      ...Array.from({ length: 100 }, (_, i) => ({ events: [], nextToken: `t${i}` })),
    );
    expect(await accessLogCheck(endless.client, 'group', window)).toMatchObject({
      verdict: 'WARN',
      detail: `none in the first ${MAX_LOG_PAGES} pages of group, and CloudWatch Logs has more: not a full search`,
    });
    expect(endless.calls).toHaveLength(MAX_LOG_PAGES);
    const many = pages(
      ...Array.from({ length: 10 }, (_, i) => ({
        events: Array.from({ length: 10 }, () => error('x')),
        nextToken: `t${i}`,
      })),
    );
    expect((await accessLogCheck(many.client, 'group', window)).detail).toBe('50x x');
    expect(many.calls).toHaveLength(5);
  });

  it('asks for entries with an integration error only, from the window start', async () => {
    let input: FilterLogEventsCommand['input'] | undefined;
    const client = {
      send: async (command: FilterLogEventsCommand) => {
        input = command.input;
        return {};
      },
    } as unknown as CloudWatchLogsClient;
    await accessLogCheck(client, 'group', { startTime: 1234, minutes: 5 });
    expect(input).toEqual({
      logGroupName: 'group',
      startTime: 1234,
      filterPattern: '{ ($.integrationErrorMessage != "-") && ($.integrationErrorMessage != "") }',
    });
  });
});

describe('a verdict', () => {
  it('carries a hint only when it is not OK', () => {
    expect(check('x', 'OK', 'fine', 'do this')).toEqual({
      name: 'x',
      verdict: 'OK',
      detail: 'fine',
    });
    expect(check('x', 'WARN', 'meh', 'do this').hint).toBe('do this');
    expect(check('x', 'FAIL', 'bad')).toEqual({ name: 'x', verdict: 'FAIL', detail: 'bad' });
  });

  it('of a check that throws is its FAIL, with the error', async () => {
    const failed = await guarded('thing', async () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied' });
    });
    expect(failed).toEqual([
      {
        name: 'thing',
        verdict: 'FAIL',
        detail: 'could not check: AccessDenied: denied',
        hint: 'check credentials, --region and that the stacks exist',
      },
    ]);
    expect(await guarded('thing', async () => [check('y', 'OK', 'ok')])).toHaveLength(1);
  });
});
