# shellcheck shell=bash
# Shared by the scripts that start servers under setsid (crossengine.sh,
# workers-conformance.sh, workers-pubsub.sh). Source it; it defines
# functions only. Callers define log().

# stop_group PID: SIGTERM the process group led by PID (wrangler and its
# workerd children, or dsctl serve), wait up to 10 s, then SIGKILL; reap it.
stop_group() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "-$pid" 2>/dev/null; then
    log "warning: process group $pid still running 10s after SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# install_deps DIR MARKER...: `npm ci` in DIR when node_modules lacks any
# MARKER package or is older than the lockfile (callers define log()).
install_deps() {
  local dir=$1 m missing=0
  shift
  for m in "$@"; do [[ -d $dir/node_modules/$m ]] || missing=1; done
  if ((missing)) || [[ $dir/package-lock.json -nt $dir/node_modules ]]; then
    log "installing npm dependencies (npm ci) in ${dir##*/testdata/}"
    (cd "$dir" && npm ci --no-audit --no-fund)
    touch "$dir/node_modules"
  fi
}
