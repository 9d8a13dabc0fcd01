// OWNER: groups. Placeholder until the groups work lands; the export is the contract.

export function SlowModeNotice(_p: { convId: string }) {
  return <section class="placeholder">SlowModeNotice</section>;
}
