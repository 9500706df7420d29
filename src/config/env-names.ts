// Moved to src/contract/env-names.ts (issue 12: names that cross a boundary live in the contract).
// Kept only while modules written before the move still import it here: import from src/contract/env-names.ts.
export * from '../contract/env-names';
