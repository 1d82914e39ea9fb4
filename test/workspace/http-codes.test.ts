// ELB's success-code matcher (scripts/workspace/http-codes.ts): what `success_codes` may say
// (ELB API reference, Matcher: a list like 200,202 or a range like 200-299, from 200 to 499 for
// an ALB), the codes it matches, and how a list of codes is shown back.
import { describe, expect, it } from 'vitest';
import { describeCodes, parseHttpCode } from '../../scripts/workspace/http-codes.ts';

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("an ALB's HttpCode", () => {
  it.each<[string, number[]]>([
    ['200', [200]],
    ['200,202', [200, 202]],
    ['202,200', [200, 202]],
    ['200,200', [200]],
    ['499', [499]],
    ['200-299', range(200, 299)],
    ['200-200', [200]],
    ['204-206', [204, 205, 206]],
    ['200-499', range(200, 499)],
  ])('reads %j as the codes it matches', (text, codes) => {
    expect(parseHttpCode(text)).toEqual({ codes });
  });

  it.each<[string, string]>([
    ['', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    ['20', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    ['200,', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    ['200, 202', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    ['200-', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    ['2xx', 'expected HTTP codes like 200, 200,202 or a range like 200-299'],
    [
      '200,300-399',
      'expected a list of codes (200,202) or one range (200-299): ELB documents no mix of the two',
    ],
    [
      '200-299,404',
      'expected a list of codes (200,202) or one range (200-299): ELB documents no mix of the two',
    ],
    ['299-200', 'expected a range from the lower code to the higher (200-299)'],
    ['199', "expected codes from 200 to 499: an ALB's health check takes no other"],
    ['200,500', "expected codes from 200 to 499: an ALB's health check takes no other"],
    ['100-299', "expected codes from 200 to 499: an ALB's health check takes no other"],
    ['200-500', "expected codes from 200 to 499: an ALB's health check takes no other"],
  ])('refuses %j: %s', (text, error) => {
    expect(parseHttpCode(text)).toEqual({ error });
  });
});

describe('a list of codes, shown', () => {
  it.each<[number[], string]>([
    [[200], '200'],
    [[200, 202], '200, 202'],
    [[200, 201], '200, 201'],
    [[200, 201, 202], '200-202'],
    [range(200, 299), '200-299'],
    [[...range(200, 204), 404], '200-204, 404'],
    [[200, ...range(300, 399), 404, 405], '200, 300-399, 404, 405'],
    [[404, 200, 201, 202], '200-202, 404'],
    [[], ''],
  ])('%j as %j', (codes, text) => {
    expect(describeCodes(codes)).toBe(text);
  });

  it('joins the items with the separator it is given', () => {
    expect(describeCodes([200, 204, 300, 301, 302], ' or ')).toBe('200 or 204 or 300-302');
  });
});
