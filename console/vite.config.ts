import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The console is served under /console/ (locally by the gateway, on AWS by CloudFront in front of S3). */
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
