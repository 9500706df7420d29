export {
  bearerToken,
  createVerifier,
  hasScope,
  TollgateUnavailableError,
  TollgateVerifyError,
  type TollgateClaims,
  type Verifier,
  type VerifierOptions,
  type VerifyErrorCode,
} from './verifier';
