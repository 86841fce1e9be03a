import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The Tauri window loads ui/dist (built into the binary) or, with `tauri dev`, this dev server.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  // `fs.allow`: the sample documents are imported from the repository's assets/samples/.
  server: { port: 5173, strictPort: true, fs: { allow: [".."] } },
  build: { outDir: "dist", emptyOutDir: true, target: "safari15", sourcemap: false },
});
