# Shared by node_load.sh and abuse.sh: wrk, request bodies, and reading what
# wrk measured. Sourced, not run.

ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    echo "installing wrk from Debian..." >&2
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null || { echo "cannot install wrk" >&2; exit 1; }
  fi
}

# Writes $work/post.lua: POSTs $1 (a JSON body), or, when $work/bodies.lua
# exists, the bodies it lists in turn; counts the answers whose body says
# "data":true (a valid verdict), as opposed to any 2xx status.
write_post_lua() { # body
  cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[$1]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) valid = 0; refused = 0; other = 0 end
function response(status, headers, body)
  if status == 200 and string.find(body, '"data":true', 1, true) then
    valid = valid + 1
  elseif status == 503 then
    refused = refused + 1
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local v, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    v = v + t:get("valid"); r = r + t:get("refused"); o = o + t:get("other")
  end
  io.write(string.format("answers: valid %d refused %d other %d in %.3f s\n", v, r, o, summary.duration / 1e6))
end
LUA
  if [ -f "$work/bodies.lua" ]; then
    cat "$work/bodies.lua" - >> "$work/post.lua" <<'LUA'
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA
  fi
}

wait_http() { # url body
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' --data "$2" "$1"; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2; return 1
}

# Runs wrk and prints "<valid/s> <requests/s> <p99 ms> <refused> <errors>":
# valid/s counts answers that say "data":true; refused counts 503s; errors
# are other non-2xx answers and socket errors.
run_wrk() { # url connections duration
  local out
  out=$(wrk -t"${THREADS:-2}" -c"$2" -d"${3}s" --latency -s "$work/post.lua" "$1")
  echo "$out" >&2
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
a = re.search(r"answers: valid (\d+) refused (\d+) other (\d+) in ([\d.]+) s", out)
valid, refused, other, secs = int(a.group(1)), int(a.group(2)), int(a.group(3)), float(a.group(4))
errors = other
m = re.search(r"Socket errors:.*?connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
if m:
    errors += sum(int(g) for g in m.groups())
print(f"{valid / secs:.0f} {rps:.0f} {p99:.2f} {refused} {errors}")
PY
}

# Writes $work/bodies.lua with N distinct valid Groth16 proofs of the
# multiplier circuit for task definition 1, the same proofs as a
# `taskproof bench` corpus in $work/corpus.jsonl, and prints the first body.
groth16_bodies() { # count
  cargo build --release -q -p taskproof-benches --bin groth16-timing
  target/release/groth16-timing emit multiplier "$1" > "$work/proofs.json"
  python3 - "$work/proofs.json" > "$work/bodies.lua" <<'PY'
import json, sys
proofs = json.load(open(sys.argv[1]))
print("bodies = {")
for p in proofs:
    body = json.dumps({"proofOfTask": json.dumps(p), "data": "0x", "taskDefinitionId": 1})
    print(f"  [==[{body}]==],")
print("}")
PY
  python3 - "$work/proofs.json" > "$work/corpus.jsonl" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1])):
    print(json.dumps({"proofOfTask": json.dumps(p), "data": "0x", "taskDefinitionId": 1}))
PY
  python3 -c "import json;p=json.load(open('$work/proofs.json'))[0];print(json.dumps({'proofOfTask':json.dumps(p),'data':'0x','taskDefinitionId':1}))"
}

rss_kib() { # pid
  awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
