import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
skip = {"run.json", "manifest.json"}
diff = [k for k in sorted(set(a) | set(b)) if k not in skip and a.get(k) != b.get(k)]
print(f"{len(a)} files; differing (run.json, manifest.json aside): {diff or 'none'}")
