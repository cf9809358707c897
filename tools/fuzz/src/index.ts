/**
 * vmpipe's own fuzzing harness (docs/reliability.md): fast-check cases of damaged dumps
 * (from tools/mkdump and cut from the real fixture) and hostile NDJSON streams, run
 * through every command in process, checked by class.
 */
export { makeBases, cutFixture, haveFixture, sha256, FIXTURE, MK_BASES, REAL_BASES, type Base, type BaseName } from './bases.js';
export { caseArb, dumpCaseArb, streamCaseArb, damageArb, describe, DUMP_COMMANDS, REGIONS, type Case, type Damage } from './cases.js';
export { Checker, classify, damage, LIMITS, type CaseResult, type Failure, type FailureClass } from './check.js';
export { runCommand, type CommandRun } from './run-command.js';
export { fuzz, type FuzzReport } from './fuzz.js';
