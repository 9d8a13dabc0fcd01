// OWNER: media. Placeholder: initials only until the media work lands (which
// shows the avatar picture: GET /v1/files/{id}/thumbnail?size=64 fetched with
// the token, kept as a blob URL).
export function Avatar(p: { name: string; fileId?: string | null; size?: number; online?: boolean }) {
  const size = p.size ?? 40;
  const initials = (p.name || '?').trim().slice(0, 1).toUpperCase();
  return (
    <span class="avatar" aria-hidden="true" data-size={size}>
      {initials}
      {p.online !== undefined && <span class={p.online ? 'dot online' : 'dot'} />}
    </span>
  );
}
