import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const logs = [];
page.on('console', (m) => logs.push(m.type() + ': ' + m.text()));
page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
await page.goto(process.argv[2]);
await page.waitForTimeout(1500);
if (process.argv[4] === 'patterns') {
  await page.click('#tab-patterns');
  await page.click('#patterns-toggle');
  await page.waitForTimeout(6000);
} else {
  await page.fill('#watch-topic', 'demo');
  await page.click('#watch-form button');
  await page.waitForTimeout(500);
  await page.fill('#publish-topic', 'demo');
  await page.click('#publish-form button');
  await page.waitForTimeout(2500);
}
await page.screenshot({ path: process.argv[3], fullPage: true });
console.log(logs.join('\n'));
await browser.close();
