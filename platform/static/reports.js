/* Report charts with Apache ECharts: every .crm-chart reads the JSON beside it (categories, series, links).
   Clicking a bar, point or slice opens the records behind it. Charts in htmx-loaded widgets are drawn
   when they arrive; all charts follow the window's width. No inline handlers (the CSP forbids them). */
(function () {
  "use strict";
  var WORDS = {
    "en": {empty: "(empty)"},
    "zh-CN": {empty: "（空）"}
  };

  function formatter(locale) {
    var nf = new Intl.NumberFormat(locale, {maximumFractionDigits: 2});
    return function (value) { return value === null || value === undefined ? "–" : nf.format(value); };
  }

  // Rough width of a label in px (CJK characters are about twice as wide as Latin ones at 12 px).
  function labelWidth(text) {
    var width = 0;
    for (var i = 0; i < text.length; i++) { width += text.charCodeAt(i) > 0x2e80 ? 12 : 7; }
    return width;
  }

  // Slant the category labels only when they would not fit side by side under their bars.
  function slanted(spec, boxWidth) {
    if (spec.horizontal || !spec.categories.length) { return false; }
    var room = (boxWidth - 48) / spec.categories.length;
    return spec.categories.some(function (c) { return labelWidth(String(c)) > room - 8; });
  }

  function axisOption(spec, fmt, phone, boxWidth) {
    var kind = spec.type === "line" ? "line" : "bar";
    var category = {
      type: "category", data: spec.categories,
      axisLabel: {hideOverlap: true, rotate: slanted(spec, boxWidth) ? 45 : 0, width: phone ? 80 : 140, overflow: "truncate"}
    };
    var value = {type: "value", axisLabel: {formatter: fmt}};
    return {
      tooltip: {trigger: "axis", valueFormatter: fmt},
      legend: {show: spec.series.length > 1, type: "scroll", bottom: 0},
      grid: {left: 8, right: 16, top: 16, bottom: spec.series.length > 1 ? 40 : 8, containLabel: true},
      xAxis: spec.horizontal ? value : category,
      yAxis: spec.horizontal ? category : value,
      series: spec.series.map(function (s) {
        return {name: s.name, type: kind, data: s.values, stack: spec.stacked ? "total" : undefined,
                smooth: kind === "line", cursor: "pointer"};
      })
    };
  }

  function sliceOption(spec, fmt, phone) {
    var s = spec.series[0] || {values: [], name: ""};
    var data = spec.categories.map(function (name, i) { return {name: name, value: s.values[i]}; });
    var series = {name: s.name, type: spec.type, data: data, cursor: "pointer"};
    if (spec.type === "pie") {
      series.radius = phone ? ["30%", "60%"] : ["35%", "70%"];
      series.label = {show: !phone};
    } else {
      series.sort = "descending";
      series.label = {show: true, position: "inside"};
      series.left = "10%";
      series.width = "80%";
    }
    return {
      tooltip: {trigger: "item", valueFormatter: fmt},
      legend: {type: "scroll", bottom: 0},
      series: [series]
    };
  }

  function draw(box) {
    if (box.dataset.drawn || typeof echarts === "undefined") { return; }
    var source = box.nextElementSibling;
    if (!source || !source.classList.contains("crm-chart-data")) { return; }
    var spec = JSON.parse(source.textContent);
    var phone = box.clientWidth < 500;
    var fmt = formatter(spec.locale);
    var option = (spec.type === "pie" || spec.type === "funnel") ? sliceOption(spec, fmt, phone) : axisOption(spec, fmt, phone, box.clientWidth);
    // Who asked for less motion gets the chart at once, without the growing animation.
    option.animation = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    option.textStyle = {fontFamily: getComputedStyle(document.body).fontFamily};
    option.aria = {enabled: true};
    var chart = echarts.init(box, null, {renderer: "svg", locale: spec.locale === "zh-CN" ? "ZH" : "EN"});
    chart.setOption(option);
    chart.on("click", function (params) {
      var series = spec.series[spec.type === "pie" || spec.type === "funnel" ? 0 : params.seriesIndex];
      var link = series && series.links ? series.links[params.dataIndex] : null;
      if (link) { window.location.assign(link); }
    });
    box.dataset.drawn = "1";
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".crm-chart").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.body.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll(".crm-chart").forEach(function (box) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(box);
      if (chart) { chart.resize(); }
    });
  });
  window.crmCharts = {drawAll: drawAll, words: WORDS};
})();
