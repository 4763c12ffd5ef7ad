"""py-spy raw stacks by the deepest planner function, samples under solvers, GEOS, GDAL, zlib, threads and imports left out: deepfn.py RAW TOP."""
import collections,re,sys
path=sys.argv[1]; top=int(sys.argv[2])
EXCL=("(ortools/","(pyvrp/","(shapely/","(pyogrio/","(zipfile.py","<frozen importlib","(threading.py","(concurrent/")
c=collections.Counter(); tot=0; ex=0
for line in open(path):
    stack,_,n=line.rstrip('\n').rpartition(' ');n=int(n); tot+=n
    fr=stack.split(';')
    if any(e in f for f in fr for e in EXCL if e in ("<frozen importlib",)) : ex+=n; continue
    pi=[i for i,f in enumerate(fr) if re.search(r'\(planner/', f)]
    if not pi: ex+=n; continue
    below=fr[pi[-1]+1:]
    if any(any(e in f for e in EXCL) for f in below): ex+=n; continue
    c[re.sub(r":\d+\)$",")",fr[pi[-1]])]+=n
print('total',tot,'excluded',ex)
for k,v in c.most_common(top): print(f"{v:5d} {k}")
