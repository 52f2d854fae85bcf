"""The text of the bench paper's items, shared by the platform's seeding
(:func:`benchmarks.bench_exam.bench_paper`) and the echo server, so both send papers of the same size."""

STEM = "在低压配电线路的检修作业中，下列关于停电、验电、装设接地线和悬挂标示牌的说法，哪一项是正确的？"
OPTION = "按规程先验电后装设接地线，并悬挂“禁止合闸”标示牌"


def stem_html(n: int) -> str:
    return f"<p>第 {n} 题：{STEM}</p>"


def option_html(label: str, n: int) -> str:
    return f"选项{label}：{OPTION}（{n}）"
