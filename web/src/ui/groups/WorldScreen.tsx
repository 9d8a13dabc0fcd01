// OWNER: groups. Placeholder until the groups work lands; the export is the contract.

export function WorldScreen(_p: {}) {
  return <section class="placeholder">WorldScreen</section>;
}
