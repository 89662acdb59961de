# shellcheck shell=bash disable=SC2154
# Sourced by bench/run_benchmarks.sh and bench/run_postgres_benchmarks.sh: the machine notes every
# run prints (CPUs, kernel, compiler, disk, load, flush probe). Needs $db_dir.

# What one durable write costs on this disk right now: 200 x 4 KiB overwrites of one file with
# O_DSYNC (each one a write plus a flush, like a commit's WAL sync). On shared virtual machines
# this moves between tens of microseconds and milliseconds; the write benchmarks follow it.
flush_probe() {
  local probe="$db_dir/holdfast-flush-probe.$$" seconds
  dd if=/dev/zero of="$probe" bs=4k count=200 status=none conv=fsync  # allocated first
  seconds=$(dd if=/dev/zero of="$probe" bs=4k count=200 oflag=dsync conv=notrunc 2>&1 |
    sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p')
  rm -f "$probe"
  awk -v s="$seconds" 'BEGIN { printf "%.0f us per 4 KiB O_DSYNC write (mean of 200)\n", s * 1e6 / 200 }'
}

machine_notes() {
  echo "== machine"
  echo "nproc:    $(nproc)"
  echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "kernel:   $(uname -r)"
  echo "compiler: $(c++ --version | head -1)"
  echo "sqlite:   $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
  echo "disk:     $(df -T "$db_dir" | tail -1 | awk '{print $1, $2, "mounted on", $7}')"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
  echo "flush:    $(flush_probe)"
  echo "started:  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo
}

end_notes() {  # end_notes OUTPUT_DIR
  echo
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end"
  echo "flush:    $(flush_probe) at the end"
  echo "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
}
