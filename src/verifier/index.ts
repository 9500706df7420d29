export {
  bearerToken,
  createVerifier,
  DPOP_SIGNING_ALGORITHMS,
  hasScope,
  TollgateUnavailableError,
  TollgateVerifyError,
  type DpopReplayStore,
  type RequestCredentials,
  type TollgateClaims,
  type Verifier,
  type VerifierOptions,
  type VerifyErrorCode,
} from './verifier';
