// Review preferences that last while the app runs (across documents).
export const prefs = $state({ showBoxes: true });
