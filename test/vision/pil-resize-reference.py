# Writes the Pillow reference images for test/vision/resize.test.ts (run with a Python that
# has Pillow: `python3 test/vision/pil-resize-reference.py`; Debian: apt install python3-pil).
# Hugging Face's Qwen2-VL processor resizes uint8 RGB with PIL.Image.resize(size, BICUBIC),
# so Pillow's output is the reference our resizeBicubic must reproduce byte for byte.
import json
import os

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'images')
SOURCE_SIZE = (75, 47)
TARGETS = [(56, 28), (140, 84), (112, 28), (28, 28), (75, 20), (30, 47)]


def source_pixel(x, y):
    # Smooth gradients, a hard-edged checkerboard (ringing must clip at 0 and 255) and a
    # hashed noise channel.
    if 20 <= x < 40 and 10 <= y < 30:
        v = 255 if ((x // 3) + (y // 3)) % 2 else 0
        return (v, 255 - v, v)
    return ((x * 255) // 74, (y * 255) // 46, (x * 7919 + y * 104729) % 251)


def main():
    os.makedirs(OUT, exist_ok=True)
    src = Image.new('RGB', SOURCE_SIZE)
    src.putdata([source_pixel(x, y) for y in range(SOURCE_SIZE[1]) for x in range(SOURCE_SIZE[0])])
    src.save(os.path.join(OUT, 'resize-source.png'))
    for w, h in TARGETS:
        src.resize((w, h), Image.BICUBIC).save(os.path.join(OUT, f'resize-pil-{w}x{h}.png'))
    with open(os.path.join(OUT, 'resize-pil.json'), 'w') as f:
        json.dump({'pillow': Image.__version__, 'source': 'resize-source.png', 'targets': TARGETS}, f)
        f.write('\n')


main()
