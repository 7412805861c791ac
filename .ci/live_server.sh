#!/usr/bin/env bash
# Start a real third-party OpenAI-compatible server (Hugging Face `transformers serve`) on loopback, serving the
# tiny offline models made by .ci/live_server/create_tiny_model.py, in a virtualenv of its own (torch never enters the package's).
# Usage: .ci/live_server.sh start DIR   -> prints "base_url=http://127.0.0.1:PORT/v1" when /health answers
#        .ci/live_server.sh stop DIR
set -euo pipefail
action=$1
live=$(realpath -m "$2")
here=$(cd "$(dirname "$0")/.." && pwd)
recipe="$here/.ci/live_server"

stop_server() {
  if [ -f "$live/server.pid" ]; then
    pid=$(cat "$live/server.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$live/server.pid"
  fi
}

case "$action" in
start)
  mkdir -p "$live"
  stop_server   # a server left over from an earlier start in the same DIR would be orphaned by a new pid file
  if [ ! -x "$live/venv/bin/transformers" ]; then
    python3 -m venv "$live/venv"
    # The pinned CPU build kept on these machines; an unpinned torch would pull a multi-GB CUDA build.
    "$live/venv/bin/pip" install -q torch==2.13.0
    "$live/venv/bin/pip" install -q 'transformers[serving]==5.23.0'
  fi
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$live/hf"   # without offline mode the server hangs on the hub
  if [ ! -d "$live/models/tiny-random" ]; then
    "$live/venv/bin/python" "$recipe/create_tiny_model.py" "$live/models/tiny-scripted" --scripted --repo-id local/tiny-scripted
    "$live/venv/bin/python" "$recipe/create_tiny_model.py" "$live/models/tiny-random" --repo-id local/tiny-random
  fi
  port=$("$live/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nohup "$live/venv/bin/transformers" serve --host 127.0.0.1 --port "$port" > "$live/server.log" 2>&1 &
  echo $! > "$live/server.pid"
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/health" > /dev/null 2>&1; then
      echo "base_url=http://127.0.0.1:$port/v1"
      exit 0
    fi
    if ! kill -0 "$(cat "$live/server.pid")" 2>/dev/null; then
      echo "transformers serve exited before /health answered; log:" >&2
      tail -50 "$live/server.log" >&2
      rm -f "$live/server.pid"
      exit 1
    fi
    sleep 1
  done
  echo "transformers serve did not answer /health within 120 s; log:" >&2
  tail -50 "$live/server.log" >&2
  stop_server
  exit 1
  ;;
stop)
  stop_server
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
