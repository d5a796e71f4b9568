// A small line chart on a canvas: the overview's charts move every second and must stay
// cheap, so they draw a few hundred points with the 2D API directly (no chart library to
// vendor or build).

export const COLORS = ["#1f8a4c", "#3358d4", "#b7791f", "#c53030", "#7c3aed", "#0e7490"];

/** The most points a series keeps (two minutes at one a second). */
const KEEP = 120;

export class LineChart {
  /** `series`: their labels, drawn in `COLORS` order; `unit` follows the axis maximum. */
  constructor(canvas, series, unit = "") {
    this.canvas = canvas;
    this.series = series;
    this.unit = unit;
    this.points = series.map(() => []);
  }

  /** Adds one value per series (`null` leaves a gap) and redraws. */
  push(values) {
    values.forEach((value, i) => {
      const points = this.points[i];
      points.push(value);
      if (points.length > KEEP) points.shift();
    });
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio;
      canvas.height = height * ratio;
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const max = niceMax(Math.max(0, ...this.points.flat().filter((v) => v !== null)));
    const left = 48;
    const plotWidth = width - left - 8;
    const plotHeight = height - 20;
    context.font = "11px system-ui, sans-serif";
    context.fillStyle = "#667085";
    context.strokeStyle = "#e5e7eb";
    context.lineWidth = 1;
    for (let i = 0; i <= 3; i += 1) {
      const y = 6 + (plotHeight * i) / 3;
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(width - 8, y);
      context.stroke();
      context.fillText(`${format(max * (1 - i / 3))}${this.unit}`, 2, y + 4);
    }
    this.points.forEach((points, i) => {
      context.strokeStyle = COLORS[i % COLORS.length];
      context.lineWidth = 1.6;
      context.beginPath();
      let drawing = false;
      points.forEach((value, j) => {
        if (value === null) {
          drawing = false;
          return;
        }
        const x = left + (plotWidth * (j + KEEP - points.length)) / (KEEP - 1);
        const y = 6 + plotHeight * (1 - (max === 0 ? 0 : value / max));
        if (drawing) context.lineTo(x, y);
        else context.moveTo(x, y);
        drawing = true;
      });
      context.stroke();
      // The latest value as a dot: a series with one point shows too.
      const last = points.length - 1;
      if (last >= 0 && points[last] !== null) {
        const y = 6 + plotHeight * (1 - (max === 0 ? 0 : points[last] / max));
        context.fillStyle = COLORS[i % COLORS.length];
        context.beginPath();
        context.arc(left + plotWidth, y, 2.5, 0, 2 * Math.PI);
        context.fill();
      }
    });
  }
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

function format(value) {
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
}
