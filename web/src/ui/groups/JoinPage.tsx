// OWNER: groups. Placeholder until the groups work lands; the export is the contract.

export function JoinPage(_p: { token: string }) {
  return <section class="placeholder">JoinPage</section>;
}
