"""hostile-files.py FIXTURES MNIST FASHION: the hostile files of hostile-campaign.sh.

Writes under FIXTURES: pic/ (pictures: bad-* refused, ok-* read or refused as blank),
idx/ (data directories whose training files lie), npy/ (numpy XOR directories without
model.json), mix/ (data directories mixing known sets), and single IDX files. MNIST and
FASHION are the data caches, whose files the mixed directories link to.
"""
import gzip, os, struct, sys, zlib

F, MNIST, FASHION = sys.argv[1:4]


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def chunk(typ, data):
    c = typ + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))


def png(w, h, depth=8, ctype=0, interlace=0, rows=True, raw=None):
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    b = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    if ctype == 3:
        b += chunk(b"PLTE", bytes(range(256)) * 3)
    if rows:
        z = zlib.compressobj(1)
        row = bytes(1 + w * ch * depth // 8)
        data = b"".join(z.compress(row) for _ in range(h)) + z.flush() if raw is None else zlib.compress(raw)
        b += chunk(b"IDAT", data)
    return b + chunk(b"IEND", b"")


def digit():
    # a 28x28 grey "1": a vertical bar
    rows = []
    for y in range(28):
        rows.append(b"\0" + bytes(255 if 12 <= x <= 15 and 4 <= y <= 23 else 0 for x in range(28)))
    return png(28, 28, raw=b"".join(rows))


def gif(w, h, body=True):
    b = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + bytes(6)
    if body:
        b += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x02\x02\x44\x01\x00"
    return b + b"\x3b"


def jpeg(w, h, comps=1, progressive=False):
    sof = b"\xff\xc2" if progressive else b"\xff\xc0"
    body = struct.pack(">BHHB", 8, h, w, comps) + b"".join(bytes([i + 1, 0x11, 0]) for i in range(comps))
    return b"\xff\xd8" + sof + struct.pack(">H", len(body) + 2) + body + b"\xff\xd9"


pic = os.path.join(F, "pic")
good = digit()
pics = {
    "ok-digit.png": good,
    "ok-blank-at-limit.png": png(4400, 4400),
    "bad-png-huge-header.png": png(100000, 100000, rows=False),
    "bad-png-16bit-rgba-7000.png": png(7000, 7000, 16, 6, rows=False),
    "bad-png-interlaced-huge.png": png(30000, 30000, 8, 6, interlace=1, rows=False),
    "bad-png-width0.png": png(0, 10, rows=False),
    "bad-png-2^31.png": png(2**31 - 1, 1, rows=False),
    "bad-png-cut.png": good[: len(good) // 2],
    "bad-png-header-only.png": good[:8],
    "bad-png-bad-crc.png": good[:30] + b"\0\0\0\0" + good[34:],
    "bad-png-depth-3.png": png(28, 28, 3, 0, rows=False),
    "bad-png-palette-no-plte.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 3, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(bytes(29 * 28))) + chunk(b"IEND", b""),
    "bad-png-no-idat.png": png(28, 28, rows=False),
    "bad-png-zlib-garbage.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) + chunk(b"IDAT", b"garbage!") + chunk(b"IEND", b""),
    "bad-gif-huge.gif": gif(65535, 65535),
    "bad-gif-cut.gif": gif(28, 28)[:15],
    "bad-gif-0x0.gif": gif(0, 0),
    "bad-gif-no-frames.gif": gif(28, 28, body=False),
    "bad-jpeg-huge.jpg": jpeg(65535, 65535, 3),
    "bad-jpeg-progressive-cmyk.jpg": jpeg(60000, 60000, 4, True),
    "bad-jpeg-cut.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "bad-jpeg-soi-only.jpg": b"\xff\xd8",
    "bad-jpeg-no-scan.jpg": jpeg(28, 28),
    "bad-tiff.tif": b"II*\x00\x08\x00\x00\x00" + bytes(64),
    "bad-bmp.bmp": b"BM" + bytes(60),
    "bad-webp.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20),
    "bad-text.png": b"hello, world\n",
    "bad-empty.png": b"",
    "bad-svg.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "bad-npy.png": b"\x93NUMPY\x01\x00" + bytes(100),
}
for name, data in pics.items():
    put(os.path.join(pic, name), data)


def idx(shape, data=b"", code=0x08):
    return b"\0\0" + bytes([code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + data


TI, TL = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
imgs = bytes((i * 7) % 256 for i in range(1000 * 784))
labs = bytes(i % 10 for i in range(1000))
zeros = bytes(100000 * 784)
dirs = {
    "gz-claims-600000-holds-1000": {TI + ".gz": gzip.compress(idx([600000, 28, 28], imgs), 1), TL + ".gz": gzip.compress(idx([600000], labs), 1)},
    "counts-100000-vs-100001": {TI + ".gz": gzip.compress(idx([100000, 28, 28], zeros), 1), TL + ".gz": gzip.compress(idx([100001], bytes(100001)), 1)},
    "plain-claims-2^31": {TI: idx([2**31 - 1, 28, 28], imgs), TL: idx([2**31 - 1], labs)},
    "dims-65536x65536": {TI: idx([1, 65536, 65536]), TL: idx([1], b"\0")},
    "float-images": {TI: idx([1000, 28, 28], bytes(1000 * 784 * 4), 0x0D), TL: idx([1000], labs)},
    "labels-2d": {TI: idx([1000, 28, 28], imgs), TL: idx([1000, 1], labs)},
    "labels-as-images": {TI: idx([1000], labs), TL: idx([1000, 28, 28], imgs)},
    "255-dims": {TI: b"\0\0\x08\xff" + bytes(4 * 255), TL: idx([1000], labs)},
    "header-cut": {TI: b"\0\0\x08\x03\0\0", TL: idx([1000], labs)},
    "bad-magic": {TI: b"\x1f\x8b\x08\x03" + bytes(100), TL: idx([1000], labs)},
    "empty-files": {TI: b"", TL: b""},
    "label-10": {TI: idx([1000, 28, 28], imgs), TL: idx([1000], bytes([10]) * 1000)},
    "gz-trailing-garbage": {TI + ".gz": gzip.compress(idx([1000, 28, 28], imgs)) + b"garbage", TL: idx([1000], labs)},
    "gz-concatenated-members": {TI + ".gz": gzip.compress(idx([1000, 28, 28], imgs[: 500 * 784])) + gzip.compress(imgs[500 * 784 :]), TL: idx([1000], labs)},
}
for d, files in dirs.items():
    base = os.path.join(F, "idx", d)
    for name, data in files.items():
        put(os.path.join(base, name), data)
    for t in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if not os.path.lexists(os.path.join(base, t)):
            os.symlink(os.path.join(MNIST, t), os.path.join(base, t))
os.symlink("/dev/urandom", os.path.join(F, "idx", "empty-files", "x"))  # harmless extra
lnk = os.path.join(F, "idx", "images-link-to-urandom")
os.makedirs(lnk, exist_ok=True)
os.symlink("/dev/urandom", os.path.join(lnk, TI))
put(os.path.join(lnk, TL), idx([1000], labs))


def npy(shape, descr="<f4", fortran="False", pad=True, data=b""):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    if pad:
        h += " " * (63 - (10 + len(h)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data


npys = {
    "w0-2^62": (npy("(4611686018427387904, 2)"), None),
    "w0-negative": (npy("(-2, 4)"), None),
    "w0-big-endian": (npy("(2, 4)", ">f4", data=bytes(32)), None),
    "w0-object": (npy("(2, 4)", "|O", data=bytes(32)), None),
    "w0-fortran": (npy("(2, 4)", fortran="True", data=bytes(32)), None),
    "w0-3d": (npy("(2, 4, 1)", data=bytes(32)), None),
    "w0-not-dict": (b"\x93NUMPY\x01\x00\x06\x00[1,2]\n", None),
    "w0-eval": (npy("__import__('os').system('id')", data=bytes(32)), None),
    "w0-version-9": (b"\x93NUMPY\x09\x00" + npy("(2, 4)", data=bytes(32))[8:], None),
    "w0-header-len-65535": (b"\x93NUMPY\x01\x00\xff\xff" + b"{" * 100, None),
    "w0-nan": (npy("(2, 4)", data=struct.pack("<8f", *([float("nan")] * 8))), None),
    "w1-missing": (npy("(2, 4)", data=bytes(32)), "missing"),
    "w1-huge": (npy("(2, 4)", data=bytes(32)), "huge"),
    "w1-hidden-mismatch": (npy("(2, 4)", data=bytes(32)), "mismatch"),
}
for d, (w0, how) in npys.items():
    base = os.path.join(F, "npy", d)
    put(os.path.join(base, "weights0.npy"), w0)
    if how == "missing":
        continue
    if how == "huge":
        p = os.path.join(base, "weights1.npy")
        put(p, npy("(100000000, 1)"))
        os.truncate(p, 128 + 400000000)
    elif how == "mismatch":
        put(os.path.join(base, "weights1.npy"), npy("(5, 1)", data=bytes(20)))
    else:
        put(os.path.join(base, "weights1.npy"), npy("(4, 1)", data=bytes(16)))

names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
mixes = {
    "train-fashion-test-mnist": (FASHION, FASHION, MNIST, MNIST),
    "train-mnist-test-fashion": (MNIST, MNIST, FASHION, FASHION),
    "images-fashion-labels-mnist": (FASHION, MNIST, MNIST, MNIST),
    "test-images-fashion": (MNIST, MNIST, FASHION, MNIST),
    "train-and-test-swapped": None,
    "labels-swapped": None,
}
for d, src in mixes.items():
    base = os.path.join(F, "mix", d)
    os.makedirs(base, exist_ok=True)
    if d == "train-and-test-swapped":
        pairs = zip(names, [names[2], names[3], names[0], names[1]])
        for n, s in pairs:
            os.symlink(os.path.join(MNIST, s), os.path.join(base, n))
    elif d == "labels-swapped":
        for n, s in zip(names, [names[0], names[3], names[2], names[1]]):
            os.symlink(os.path.join(MNIST, s), os.path.join(base, n))
    else:
        for n, s in zip(names, src):
            os.symlink(os.path.join(s, n), os.path.join(base, n))

# single files for data inspect
put(os.path.join(F, "claim.idx"), b"\0\0\x08\x02" + struct.pack(">II", 65536, 65536) + bytes(100))
bomb = gzip.compress(idx([300000, 28, 28]) + bytes(300000 * 784), 9)
put(os.path.join(F, "bomb.idx.gz"), bomb[:-4] + struct.pack("<I", 1000))
put(os.path.join(F, "cut.idx.gz"), gzip.compress(idx([1000, 28, 28], imgs))[:3000])
