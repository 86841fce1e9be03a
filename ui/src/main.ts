import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { tauriBackend } from "./lib/backend/tauri";

const app = mount(App, {
  target: document.getElementById("app")!,
  props: { backend: tauriBackend },
});

export default app;
