// The dial budgets of the remote connection from the command provider's real retry schedule
// (components/build/dial-budget.ts): pulumi-command v1.2.1 dialWithRetry over retry.Until of the
// Pulumi Go SDK v3.224.0 (100 ms first wait, times 1.5, at most 5 s; N dial errors = N + 1 attempts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  dialErrorLimitFor,
  instantFailureSeconds,
  retryDelaysNs,
  worstCaseDialSeconds,
} from "../components/build/dial-budget";

describe("retry schedule", () => {
  test("100 ms, then 1.5 times the last in whole nanoseconds, never above 5 s", () => {
    assert.deepEqual(
      retryDelaysNs(12),
      [
        100_000_000, 150_000_000, 225_000_000, 337_500_000, 506_250_000, 759_375_000, 1_139_062_500,
        1_708_593_750, 2_562_890_625,
        // 2_562_890_625 x 1.5 = 3_844_335_937.5: time.Duration keeps whole nanoseconds.
        3_844_335_937, 5_000_000_000, 5_000_000_000,
      ],
    );
  });

  test("a limit of N waits N times (N + 1 attempts); 0 never waits", () => {
    assert.equal(retryDelaysNs(0).length, 0);
    assert.equal(retryDelaysNs(7).length, 7);
    assert.equal(instantFailureSeconds(0), 0);
  });

  test("the first ten waits add up to about 11.3 s, every later one to 5 s", () => {
    assert.equal(instantFailureSeconds(10), 11.333007812);
    assert.equal(instantFailureSeconds(11), 16.333007812);
    assert.equal(instantFailureSeconds(12), 21.333007812);
  });
});

describe("dial error limit for a budget", () => {
  test("40 minutes of instantly refused dials need 488 dial errors, and 487 fall short", () => {
    assert.equal(dialErrorLimitFor(40 * 60), 488);
    assert.ok(instantFailureSeconds(488) >= 2400);
    assert.ok(instantFailureSeconds(487) < 2400);
  });

  test("10 minutes need 128", () => {
    assert.equal(dialErrorLimitFor(10 * 60), 128);
    assert.ok(instantFailureSeconds(127) < 600);
  });

  test("the smallest limit that lasts, for any budget", () => {
    for (const budget of [0.05, 0.1, 0.25, 1, 11.333007812, 11.34, 60, 299, 3600]) {
      const limit = dialErrorLimitFor(budget);
      assert.ok(instantFailureSeconds(limit) >= budget, `${budget} s: ${limit} lasts`);
      if (limit > 0)
        assert.ok(instantFailureSeconds(limit - 1) < budget, `${budget} s: ${limit - 1} does not`);
    }
    assert.equal(dialErrorLimitFor(0), 0);
  });

  test("80 dial errors of refused channels last about 6 minutes, not 40", () => {
    assert.equal(instantFailureSeconds(80), 361.333007812);
    assert.equal(instantFailureSeconds(20), 61.333007812);
  });

  test("a budget that is no duration is refused, naming what to pass", () => {
    for (const budget of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => dialErrorLimitFor(budget), /is not a duration: pass the seconds/);
    }
  });
});

describe("worst case with hanging attempts", () => {
  test("N + 1 attempts of perDialTimeout plus the N waits", () => {
    assert.equal(worstCaseDialSeconds(0, 30), 30);
    assert.equal(worstCaseDialSeconds(10, 15), 11 * 15 + 11.333007812);
    assert.equal(worstCaseDialSeconds(488, 30), 489 * 30 + instantFailureSeconds(488));
  });

  test("a perDialTimeout of 0 bounds no attempt", () => {
    assert.equal(worstCaseDialSeconds(3, 0), Number.POSITIVE_INFINITY);
  });

  test("an unlimited or fractional limit, or a negative timeout, is refused", () => {
    assert.throws(() => worstCaseDialSeconds(-1, 30), /never gives up/);
    assert.throws(() => instantFailureSeconds(2.5), /pass a whole number of dial errors/);
    assert.throws(() => worstCaseDialSeconds(3, -5), /perDialTimeout -5 s is not a duration/);
  });
});
