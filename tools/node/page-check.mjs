// Opens the node's own page in headless Chromium (Debian's chromium, driven
// by playwright-core) as a person would: the page at /, its charts, the
// search form, a result and its dataset page. Every request that is not to
// 127.0.0.1 is aborted and reported: the pages must need nothing from
// elsewhere. Prints what it saw as JSON on stdout; exits 1 on a failure to
// drive the browser (what the page shows is for the caller to judge).
//
// Usage: node page-check.mjs BASE_URL QUERY SCREENSHOT.png
//   CHROMIUM  the browser's path (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, query, shot] = process.argv.slice(2);
if (!base || !query || !shot) {
	console.error('usage: node page-check.mjs BASE_URL QUERY SCREENSHOT.png');
	process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), 'fairway-chromium-'));
const out = { outside: [], consoleErrors: [], pageErrors: [] };
let context;
try {
	context = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 900 },
		javaScriptEnabled: false, // the pages need none
	});
	await context.route('**/*', (route) => {
		const u = new URL(route.request().url());
		if (u.hostname === '127.0.0.1') {
			return route.continue();
		}
		out.outside.push(route.request().url());
		return route.abort();
	});
	const page = context.pages()[0] ?? (await context.newPage());
	page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
	page.on('pageerror', (e) => out.pageErrors.push(String(e)));

	// The page at /.
	let resp = await page.goto(base + '/', { waitUntil: 'load' });
	out.home = {
		status: resp.status(),
		contentType: resp.headers()['content-type'] ?? '',
		title: await page.title(),
		datasets: Number((await page.textContent('[data-stat="datasets"]'))?.trim()),
		charts: await page.$$eval('figure[data-chart]', (els) => els.map((e) => {
			const svg = e.querySelector('svg');
			return {
				name: e.dataset.chart,
				points: Number(e.dataset.points),
				total: Number(e.dataset.total),
				svg: Boolean(svg),
				// Shapes the chart drew, and how many rows its table has.
				paths: svg ? svg.querySelectorAll('path').length : 0,
				rows: e.querySelectorAll('table tr').length,
				width: svg ? svg.getBoundingClientRect().width : 0,
			};
		})),
		analyticsOff: (await page.$('[data-section="analytics-off"]')) !== null,
		feeds: await page.$$eval('table[data-table="feeds"] tbody tr', (rows) => rows.length),
	};
	await page.screenshot({ path: shot, fullPage: true });

	// Search from the page's form, as typed.
	await page.fill('header input[name="q"]', query);
	await Promise.all([page.waitForURL(/\/search\?/), page.press('header input[name="q"]', 'Enter')]);
	const hits = await page.$$eval('ul.hits li a', (as) => as.map((a) => ({ title: a.textContent, href: a.getAttribute('href') })));
	out.search = {
		url: page.url(),
		total: Number(await page.getAttribute('[data-total]', 'data-total')),
		hits: hits.length,
		first: hits[0] ?? null,
		value: await page.inputValue('header input[name="q"]'),
	};

	// The first result's dataset page.
	if (hits.length > 0) {
		await Promise.all([page.waitForURL(/\/datasets\//), page.click('ul.hits li a')]);
		const formats = await page.$$eval('[data-formats] a', (as) => as.map((a) => a.getAttribute('href')));
		out.dataset = {
			url: page.url(),
			title: (await page.textContent('h1[data-title]'))?.trim() ?? '',
			quality: (await page.textContent('[data-quality]'))?.trim() ?? '',
			techniques: await page.$$eval('[data-techniques] a', (as) => as.length),
			formats,
		};
		await page.screenshot({ path: shot.replace(/\.png$/, '') + '-dataset.png', fullPage: true });
		// A format link answers RDF, not the page.
		if (formats.length > 0) {
			resp = await page.request.get(new URL(formats[0], page.url()).href);
			out.dataset.formatType = resp.headers()['content-type'] ?? '';
		}
	}
	console.log(JSON.stringify(out));
} catch (e) {
	console.error(e);
	process.exitCode = 1;
} finally {
	await context?.close();
	rmSync(profile, { recursive: true, force: true });
}
