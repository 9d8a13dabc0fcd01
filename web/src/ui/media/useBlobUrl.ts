// The blob: URL of an API resource, fetched with the token (lib/files.ts
// caches it, so many components showing one picture cost one request).
import { useEffect, useState } from 'preact/hooks';
import { fetchBlobUrl } from '../../lib/files';

export function useBlobUrl(url: string | null | undefined): { src?: string; error?: Error } {
  const [st, setSt] = useState<{ for?: string; src?: string; error?: Error }>({});
  useEffect(() => {
    if (!url) return;
    let live = true;
    fetchBlobUrl(url).then(
      (src) => live && setSt({ for: url, src }),
      (error) => live && setSt({ for: url, error }),
    );
    return () => {
      live = false;
    };
  }, [url]);
  // A result for a previous URL is not shown for the new one.
  return st.for === url ? st : {};
}
