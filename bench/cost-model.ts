/**
 * What one million requests cost in AWS, from the bench's measurements and
 * stated prices. Prices: us-east-1 list prices (checked for this document,
 * change them here when AWS does).
 */
export const PRICES = {
  /** Lambda arm64, per GB-second (first pricing tier). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per million requests. */
  lambdaPerMillionRequests: 0.2,
  /** API Gateway REST API, per million requests (first 333 million a month). */
  apiGatewayRestPerMillion: 3.5,
  /** DynamoDB on-demand, per million write request units (1 KB each). */
  dynamoWritePerMillion: 0.625,
  /** DynamoDB on-demand, per million read request units (4 KB strongly consistent, or 8 KB eventually consistent). */
  dynamoReadPerMillion: 0.125,
} as const;

/** Assumptions that turn local measurements into a billed Lambda duration. */
export const ASSUMPTIONS = {
  /** Lambda gives a function one full vCPU at 1,769 MB; CPU-bound time scales with the inverse of its share. */
  fullVcpuMemoryMb: 1769,
  /** One DynamoDB round trip from Lambda in the same region, p50, milliseconds. */
  dynamoRoundTripMs: 4,
  /** A local CPU core counts as one Lambda arm64 vCPU (Graviton2 cores are of the same class). */
  localCoreToLambdaVcpu: 1,
} as const;

export interface CostInput {
  function: string;
  operation: string;
  memoryMb: number;
  /** Tollgate's own CPU per request, measured locally, milliseconds. */
  cpuMs: number;
  /** Store round trips on the critical path (measured by the SDK middleware). */
  storeRoundTrips: number;
  /** Write request units per request: writes × ceil(item KB). */
  writeUnits: number;
  /** Read request units per request. */
  readUnits: number;
}

export interface CostLine extends CostInput {
  /** Estimated billed duration per request, milliseconds (Lambda bills in 1 ms steps). */
  billedMs: number;
  lambdaPerMillion: number;
  apiGatewayPerMillion: number;
  dynamoPerMillion: number;
  totalPerMillion: number;
}

export function costOf(input: CostInput): CostLine {
  const cpuShare = Math.min(1, input.memoryMb / ASSUMPTIONS.fullVcpuMemoryMb);
  const durationMs = (input.cpuMs * ASSUMPTIONS.localCoreToLambdaVcpu) / cpuShare + input.storeRoundTrips * ASSUMPTIONS.dynamoRoundTripMs;
  const billedMs = Math.max(1, Math.ceil(durationMs));
  const lambdaPerMillion = (billedMs / 1000) * (input.memoryMb / 1024) * PRICES.lambdaArmGbSecond * 1e6 + PRICES.lambdaPerMillionRequests;
  const dynamoPerMillion = input.writeUnits * PRICES.dynamoWritePerMillion + input.readUnits * PRICES.dynamoReadPerMillion;
  const apiGatewayPerMillion = PRICES.apiGatewayRestPerMillion;
  return {
    ...input,
    billedMs,
    lambdaPerMillion,
    apiGatewayPerMillion,
    dynamoPerMillion,
    totalPerMillion: lambdaPerMillion + apiGatewayPerMillion + dynamoPerMillion,
  };
}
