export { stripSuffix, frameName, isGeneric, isWaiting, frameIn } from './frames.js';
export { signatureOf, unreadSignature, releaseIn, hashOf, HASH_FRAMES, type CrashReport, type ReportFrame, type Locator } from './signature.js';
export { consoleLine, ReportSplitter, reportOf, type ConsoleLine } from './split.js';
export { consoleLines, textSignatures, signaturesOfText } from './text.js';
export { RecordTriage, reportOfPanic } from './records.js';
export { Buckets } from './bucket.js';
