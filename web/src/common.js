// Shared by the live and review views: colours, names, the verdict table, chart sizing.
export const SIDE_DASH = { left: undefined, right: [6, 4], midline: undefined, unknown: [2, 3] };
const MUSCLE_COLOUR = {
  gluteus_maximus: '#2e7d32', gluteus_medius: '#00897b', erector_spinae_lumbar: '#c62828',
  biceps_femoris: '#6a1b9a', tensor_fasciae_latae: '#ef6c00', other: '#546e7a',
};
export const colour = (muscle) => MUSCLE_COLOUR[muscle] ?? MUSCLE_COLOUR.other;
const SHORT = {
  gluteus_maximus: 'GMax', gluteus_medius: 'GMed', erector_spinae_lumbar: 'ES',
  biceps_femoris: 'BF', tensor_fasciae_latae: 'TFL',
};
export const shortName = (ch) => `${SHORT[ch.muscle] ?? ch.label} ${ch.side === 'left' ? 'L' :
  ch.side === 'right' ? 'R' : ''}`.trim();
export const fmt = (x, digits = 2, unit = '') =>
  (x === null || x === undefined || !Number.isFinite(x)) ? '–' : `${x.toFixed(digits)}${unit}`;
export const el = (tag, props = {}, children = []) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
};
export const chartWidth = (node) => Math.max(300, (node.clientWidth || node.parentElement.clientWidth) - 10);
// The ratio the clinician reads for an exercise: glute:ES, GMax for bridges, GMed for clamshells.
export const gluteToEs = (score, exercise) =>
  (exercise === 'clamshell' ? score.gmed_to_es : score.gmax_to_es)?.ratio_of_means ?? null;
export const VERDICTS = ['glute_fired', 'lumbar_dominant', 'late_glute', 'pelvic_compensation',
  'hamstring_dominance', 'tfl_substitution'];
