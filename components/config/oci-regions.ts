/**
 * OCI's region identifiers, as data: the regions the OCI SDK for TypeScript registers
 * (oci-common 2.139.1, lib/region.js, every `Region.register(...)` call; the same list as Oracle's
 * "Regions and Availability Domains" page), grouped by realm. `test/grammars.test.ts` compares this
 * list with the installed SDK's (`sdkRegionIds` in operations/oci-client.ts), so an SDK upgrade that
 * adds a region fails the test until the region is added here. A region the list lacks is refused
 * with the nearest known one.
 */
export const OCI_REGIONS: readonly string[] = [
  // OC1
  "ap-chuncheon-1",
  "ap-mumbai-1",
  "ap-hyderabad-1",
  "ap-seoul-1",
  "ap-sydney-1",
  "ap-melbourne-1",
  "ap-osaka-1",
  "ap-tokyo-1",
  "ca-montreal-1",
  "ca-toronto-1",
  "eu-frankfurt-1",
  "eu-zurich-1",
  "sa-saopaulo-1",
  "uk-cardiff-1",
  "uk-london-1",
  "us-ashburn-1",
  "us-phoenix-1",
  "eu-amsterdam-1",
  "me-jeddah-1",
  "us-sanjose-1",
  "me-dubai-1",
  "sa-santiago-1",
  "sa-vinhedo-1",
  "il-jerusalem-1",
  "eu-marseille-1",
  "ap-singapore-1",
  "me-abudhabi-1",
  "eu-milan-1",
  "eu-stockholm-1",
  "af-johannesburg-1",
  "eu-paris-1",
  "mx-queretaro-1",
  "eu-madrid-1",
  "us-chicago-1",
  "mx-monterrey-1",
  "us-saltlake-2",
  "sa-bogota-1",
  "sa-valparaiso-1",
  "ap-singapore-2",
  "me-riyadh-1",
  "ap-delhi-1",
  "ap-batam-1",
  "eu-madrid-3",
  "eu-turin-1",
  "ap-kulai-2",
  "af-casablanca-1",
  // OC2
  "us-langley-1",
  "us-luke-1",
  // OC3
  "us-gov-ashburn-1",
  "us-gov-chicago-1",
  "us-gov-phoenix-1",
  // OC4
  "uk-gov-london-1",
  "uk-gov-cardiff-1",
  // OC8
  "ap-chiyoda-1",
  "ap-ibaraki-1",
  // OC9
  "me-dcc-muscat-1",
  "me-ibri-1",
  // OC10
  "ap-dcc-canberra-1",
  // OC14
  "eu-dcc-milan-1",
  "eu-dcc-milan-2",
  "eu-dcc-dublin-2",
  "eu-dcc-rating-2",
  "eu-dcc-rating-1",
  "eu-dcc-dublin-1",
  // OC20
  "eu-jovanovac-1",
  // OC19
  "eu-madrid-2",
  "eu-frankfurt-2",
  // OC24
  "eu-dcc-zurich-1",
  "eu-crissier-1",
  // OC21
  "me-dcc-doha-1",
  "me-alrayyan-1",
  // OC26
  "me-abudhabi-3",
  "me-alain-1",
  // OC15
  "ap-dcc-gazipur-1",
  // OC29
  "me-abudhabi-2",
  "me-abudhabi-4",
  // OC23
  "us-somerset-1",
  "us-thames-1",
  // OC35
  "ap-seoul-2",
  "ap-suwon-1",
  "ap-chuncheon-2",
  // OC42
  "us-ashburn-2",
  "us-newark-1",
  // OC51
  "eu-budapest-1",
  // OC52
  "sa-riodejaneiro-1",
];
