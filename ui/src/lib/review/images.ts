// One decoded image per page URL, shared by everything that draws from it (field crops).
const cache = new Map<string, Promise<HTMLImageElement>>();

export function pageImage(url: string): Promise<HTMLImageElement> {
  let p = cache.get(url);
  if (!p) {
    p = new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => {
        cache.delete(url);
        reject(new Error(`cannot load ${url}`));
      };
      img.src = url;
    });
    // Page URLs name a version, so an entry never goes stale; the bound only caps memory.
    if (cache.size >= 12) cache.delete(cache.keys().next().value as string);
    cache.set(url, p);
  }
  return p;
}
