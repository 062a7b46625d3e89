// The build host's network and connection plans as plain values: the service the gateway serves,
// the routes, the Bastion's name, the links that follow a build across sessions, and the choice of
// availability domain from capacity reports.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";

import {
  bastionHost,
  bastionName,
  buildInstanceName,
  buildLinkCommand,
  buildLinks,
  buildLinkTimeouts,
  SESSION_TTL_SECONDS,
} from "../components/build/bastion-plan";
import { chooseAvailabilityDomain } from "../components/build/inputs";
import { allRegionalServices, buildRouteRules, buildSecurityRules } from "../components/build/network-plan";

const SERVICES = [
  { id: "ocid1.service.os", name: "OCI FRA Object Storage", cidrBlock: "oci-fra-objectstorage" },
  {
    id: "ocid1.service.all",
    name: "All FRA Services In Oracle Services Network",
    cidrBlock: "all-fra-services-in-oracle-services-network",
  },
];

describe("network plan", () => {
  test("the service gateway serves all the region's services, not Object Storage alone", () => {
    assert.equal(allRegionalServices(SERVICES).id, "ocid1.service.all");
    assert.throws(
      () => allRegionalServices([SERVICES[0]]),
      /lists no "All <region> Services.*OCI FRA Object Storage/,
    );
  });

  test("the internet through NAT, Oracle's services through the service gateway", () => {
    assert.deepEqual(
      buildRouteRules("nat", { id: "sgw", cidrBlock: SERVICES[1].cidrBlock }).map((rule) => [
        rule.destination,
        rule.destinationType,
        rule.networkEntityId,
      ]),
      [
        ["0.0.0.0/0", "CIDR_BLOCK", "nat"],
        ["all-fra-services-in-oracle-services-network", "SERVICE_CIDR_BLOCK", "sgw"],
      ],
    );
  });

  test("SSH in from the VCN only; out anywhere", () => {
    const rules = buildSecurityRules("10.77.0.0/16");
    assert.deepEqual(
      rules.ingressSecurityRules.map((rule) => [rule.source, rule.protocol, rule.tcpOptions]),
      [["10.77.0.0/16", "6", { min: 22, max: 22 }]],
    );
    assert.deepEqual(rules.egressSecurityRules, [
      { destination: "0.0.0.0/0", protocol: "all", stateless: false },
    ]);
  });
});

describe("bastion plan", () => {
  test("the region's Bastion host; a name of letters and digits per stack", () => {
    assert.equal(bastionHost("eu-frankfurt-1"), "host.bastion.eu-frankfurt-1.oci.oraclecloud.com");
    assert.equal(bastionName("triton-trtllm-oci", "dev"), "tritontrtllmocidevbuild");
    assert.equal(bastionName("triton-trtllm-oci", "eval_a10.x"), "tritontrtllmocievala10xbuild");
  });

  test("the instance's name carries the artifact key's first 12 characters", () => {
    assert.equal(buildInstanceName("engine", "0123456789abcdef".repeat(4)), "engine-instance-0123456789ab");
  });

  test("one link while twice the estimate fits a session, less the proxy's dial budget and a margin", () => {
    const perSession = SESSION_TTL_SECONDS - 600 - 300;
    assert.deepEqual(buildLinks(53), [{ index: 1, attachSeconds: perSession, final: true }]);
    assert.equal(buildLinks(perSession / 120).length, 1);
    assert.equal(buildLinks(perSession / 120 + 1).length, 2);
    assert.throws(() => buildLinks(0), /positive/);
  });

  test("longer builds get more links, each through a session of its own for the same time", () => {
    const links = buildLinks(300);
    assert.equal(links.length, 4);
    assert.deepEqual(
      links.map((link) => [link.index, link.attachSeconds, link.final]),
      [
        [1, 9900, false],
        [2, 9900, false],
        [3, 9900, false],
        [4, 9900, true],
      ],
    );
    const covered = links.reduce((sum, link) => sum + link.attachSeconds, 0);
    assert.ok(covered >= 2 * 300 * 60);
    for (const link of links) assert.ok(link.attachSeconds <= SESSION_TTL_SECONDS - 900);
    assert.deepEqual(buildLinkTimeouts(links[1]), { create: "180m", update: "180m", delete: "10m" });
  });

  test("link commands: run then follow; all but the last accept exit 3 (still running) as a hand-over", () => {
    const [first, second] = buildLinks(120);
    assert.equal(
      buildLinkCommand(first),
      "sudo bash /home/opc/engine-build/build-host.sh run --attach-seconds 9900 || [ $? -eq 3 ]",
    );
    assert.equal(
      buildLinkCommand(second),
      "sudo bash /home/opc/engine-build/build-host.sh follow --attach-seconds 9900",
    );
    const status = (command: string, exit: number) => {
      try {
        execFileSync("bash", ["-c", command.replace(/^sudo bash \S+ .*? \|\|/, `(exit ${exit}) ||`)]);
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    };
    assert.equal(status(buildLinkCommand(first), 3), 0, "a hand-over succeeds");
    assert.notEqual(status(buildLinkCommand(first), 1), 0, "a failed build fails the link");
  });
});

describe("availability domain from capacity reports", () => {
  test("the first domain with capacity, in the tenancy's order", () => {
    assert.equal(
      chooseAvailabilityDomain("VM.GPU.A10.1", [
        { availabilityDomain: "AD-1", statuses: ["OUT_OF_HOST_CAPACITY"] },
        { availabilityDomain: "AD-2", statuses: ["AVAILABLE"] },
        { availabilityDomain: "AD-3", statuses: ["AVAILABLE"] },
      ]),
      "AD-2",
    );
  });

  test("none with capacity: every domain's answer and the key that pins one", () => {
    assert.throws(
      () =>
        chooseAvailabilityDomain("VM.GPU.A10.1", [
          { availabilityDomain: "AD-1", statuses: ["OUT_OF_HOST_CAPACITY"] },
          { availabilityDomain: "AD-2", statuses: ["HARDWARE_NOT_SUPPORTED"] },
        ]),
      /no availability domain has capacity for VM\.GPU\.A10\.1 now \(AD-1: OUT_OF_HOST_CAPACITY; AD-2: HARDWARE_NOT_SUPPORTED\).*build\.availabilityDomain/,
    );
  });
});
