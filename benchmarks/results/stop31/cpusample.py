"""Sample whole-machine busy cores every 0.5 s (or the seconds given second) until killed; writes 't_s busy_cores' lines to the file given."""
import os, time, sys
def read():
    f = open("/proc/stat").readline().split()[1:]
    v = list(map(int, f)); idle = v[3] + v[4]; return sum(v[:8]), idle
t0 = time.time(); a, ai = read()
out = open(sys.argv[1], "w")
while True:
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0.5)
    b, bi = read(); tot = b - a; busy = tot - (bi - ai)
    out.write(f"{time.time() - t0:.2f} {os.cpu_count() * busy / max(tot, 1):.2f}\n"); out.flush()
    a, ai = b, bi
