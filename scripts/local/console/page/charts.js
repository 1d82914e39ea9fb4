// Small inline-SVG charts: one point per second of the last minute. A null value (a second
// with no request) breaks the line rather than pretending a latency of zero.
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

/** Polyline points for each run of non-null values. */
function runs(values, width, height, max) {
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const lines = [];
  let current = [];
  values.forEach((value, i) => {
    if (value === null) {
      if (current.length > 0) lines.push(current);
      current = [];
      return;
    }
    const y = height - (max > 0 ? (value / max) * (height - 2) : 0) - 1;
    current.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  if (current.length > 0) lines.push(current);
  return lines;
}

/**
 * A chart of one or more series sharing a scale: [{ values, className }]. `label` is read by
 * screen readers instead of the drawing.
 */
export function lineChart(series, label, { width = 180, height = 36 } = {}) {
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: String(width),
    height: String(height),
    role: 'img',
    'aria-label': label,
    class: 'chart',
  });
  const all = series.flatMap((s) => s.values).filter((v) => v !== null);
  const max = Math.max(0, ...all);
  root.append(svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }));
  for (const { values, className } of series) {
    for (const points of runs(values, width, height, max)) {
      const shape =
        points.length === 1
          ? svg('circle', { cx: points[0].split(',')[0], cy: points[0].split(',')[1], r: 1.5 })
          : svg('polyline', { points: points.join(' ') });
      shape.setAttribute('class', className);
      root.append(shape);
    }
  }
  return root;
}
