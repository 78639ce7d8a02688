// A JSON claim check with a tolerance as a taskproof plugin in JavaScript:
// the performer claims a number in proofOfTask; the plugin GETs the
// attester's own source through the host (only URLs the task definition's
// allow_http lists) and accepts the claim within a relative tolerance. A
// source that cannot be read is undecided, never invalid.
import { httpGet, log } from 'taskproof:verifier/host@0.1.0';

const pointer = (doc, path) =>
  path.split('/').slice(1).reduce((v, key) => (v == null ? undefined : v[key]), doc);

export function verify(paramsJson, task) {
  const p = JSON.parse(paramsJson);
  let claimed;
  try {
    claimed = pointer(JSON.parse(task.proofOfTask), p.claim_pointer);
  } catch (e) {
    return { tag: 'invalid', val: `proofOfTask is not JSON: ${e.message}` };
  }
  if (typeof claimed !== 'number') {
    return { tag: 'invalid', val: `proofOfTask has no number at ${p.claim_pointer}` };
  }
  let body;
  try {
    body = httpGet(p.url);
  } catch (cause) {
    // result<_, string>: the host's error arrives as a thrown value.
    return { tag: 'undecided', val: String(cause.payload ?? cause) };
  }
  const actual = pointer(JSON.parse(new TextDecoder().decode(body)), p.source_pointer);
  if (typeof actual !== 'number') {
    return { tag: 'undecided', val: `the source has no number at ${p.source_pointer}` };
  }
  const allowed = Math.abs(actual) * (p.tolerance_percent ?? 0) / 100;
  const off = Math.abs(claimed - actual);
  log(`claimed ${claimed}, source ${actual}, allowed ±${allowed}`);
  if (off <= allowed) return { tag: 'valid' };
  return { tag: 'invalid', val: `claimed ${claimed}, the source says ${actual}: off by ${off}, more than ${p.tolerance_percent}%` };
}
