import sys, collections, re
incl, selfc = collections.Counter(), collections.Counter()
tot = 0
filt = sys.argv[2] if len(sys.argv) > 2 else "render_run"
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1); n = int(n)
    frames = stack.split(";")
    if not any(filt in f for f in frames): continue
    tot += n
    names = [re.sub(r" \(/.*?([^/]+\.py):\d+\)", r" (\1)", f) for f in frames]
    selfc[names[-1]] += n
    for f in set(names): incl[f] += n
print("total", tot)
print("--- inclusive"); [print(f"{v/tot:6.1%} {k}") for k, v in incl.most_common(60)]
print("--- self"); [print(f"{v/tot:6.1%} {k}") for k, v in selfc.most_common(40)]
