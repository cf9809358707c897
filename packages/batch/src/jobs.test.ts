import test from 'ava';
import { jobId, makeJobs, splitTemplate } from './jobs.js';

test('GNU parallel spelling: template ::: inputs, {} and {/} substituted, input appended without {}', (t) => {
  const { template, inputs } = splitTemplate(['vmcore-extract', '{}', '--panic', ':::', '/d/a/vmcore', '/d/b/vmcore']);
  t.deepEqual(template, ['vmcore-extract', '{}', '--panic']);
  const jobs = makeJobs(template, inputs);
  t.deepEqual(jobs.map((j) => j.argv), [['vmcore-extract', '/d/a/vmcore', '--panic'], ['vmcore-extract', '/d/b/vmcore', '--panic']]);
  t.deepEqual(makeJobs(['echo', 'x-{/}'], ['/d/a/vmcore']).map((j) => j.argv), [['echo', 'x-vmcore']]);
  t.deepEqual(makeJobs(['sym-resolve', '--list'], ['/d/a']).map((j) => j.argv), [['sym-resolve', '--list', '/d/a']]);
});

test('a job is its command line: the same line twice is one job, with a stable id', (t) => {
  const jobs = makeJobs(['vmcore-extract', '{}'], ['/d/a', '/d/a', '/d/b']);
  t.is(jobs.length, 2);
  t.is(jobs[0]!.id, jobId(['vmcore-extract', '/d/a']));
  t.not(jobs[0]!.id, jobs[1]!.id);
  t.regex(jobs[0]!.id, /^j[0-9a-f]{32}$/);
  t.throws(() => makeJobs([], ['/d/a']), { message: /no command/ });
});
