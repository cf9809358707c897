/**
 * A progress bar on stderr (cli-progress): done/total, rate and time left;
 * nothing when stderr is not a terminal, so logs and CI stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {value}/{total} | {rate}/s | {eta_formatted} left`, hideCursor: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  bar.start(total, 0, { rate: '0.0' });
  return {
    update(done) {
      bar.update(done, { rate: (done / Math.max(0.001, (Date.now() - start) / 1000)).toFixed(1) });
    },
    stop() {
      bar.stop();
    },
  };
}
