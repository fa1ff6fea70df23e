// The demo's view of a model of images: a canvas to draw on or show a test image in, and the decoder's image.
const SIZE = 224; // pixels of each canvas on the page

function canvas(id) {
  const element = document.createElement("canvas");
  Object.assign(element, { id, width: SIZE, height: SIZE });
  return element;
}

// meta: model.json; samples: samples.json (its range: the values shown black and white); input and generated:
// the elements to fill; changed: called when a stroke of drawing ends
export function imageView({ meta, samples, input, generated, changed }) {
  const [channels, height, width] = meta.input_shape;
  const [low, high] = samples.range;
  const pixels = new Float32Array(channels * height * width).fill(low); // the model's input, in its units
  const draw = canvas("draw");
  const shown = canvas("generated");
  input.append(draw);
  generated.append(shown);

  function paint(target, values) {
    // values: channels x height x width, from low (black) to high (white), scaled up to the canvas
    const small = new ImageData(width, height);
    const scale = 255 / Math.max(high - low, 1e-12);
    for (let i = 0; i < height * width; i++) {
      for (let c = 0; c < 3; c++) {
        small.data[4 * i + c] = scale * (values[(channels === 3 ? c : 0) * height * width + i] - low);
      }
      small.data[4 * i + 3] = 255;
    }
    const buffer = new OffscreenCanvas(width, height);
    buffer.getContext("2d").putImageData(small, 0, 0);
    const context = target.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(buffer, 0, 0, target.width, target.height);
  }

  function drawAt(event) {
    // a soft round brush on the model's grid: each pixel near the pointer brightens
    const box = draw.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const py = ((event.clientY - box.top) / box.height) * height;
    const radius = Math.max(0.8, width / 14);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const d = Math.hypot(x + 0.5 - px, y + 0.5 - py);
      const ink = Math.max(0, 1 - d / (radius + 0.5));
      for (let c = 0; c < channels; c++) {
        const i = c * height * width + y * width + x;
        pixels[i] = Math.min(high, pixels[i] + ink * (high - low));
      }
    }
    paint(draw, pixels);
  }

  let drawing = false;
  draw.onpointerdown = (e) => { drawing = true; drawAt(e); };
  draw.onpointermove = (e) => { if (drawing) drawAt(e); };
  window.addEventListener("pointerup", () => { if (drawing) { drawing = false; changed(); } });
  return {
    hint: "Draw with the mouse, or pick a test image:",
    show(values) { pixels.set(values); paint(draw, pixels); },
    clear() { pixels.fill(low); paint(draw, pixels); },
    read: () => pixels.slice(), // a copy: drawing goes on while the page classifies
    showGenerated(values) { paint(shown, values); },
  };
}
