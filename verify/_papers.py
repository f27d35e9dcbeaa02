"""The papers whose claims are checked, cited by authors, title, venue and arXiv id.

Reports and the README cite papers from this table (never by a file a user of the package
does not have). A claim names its paper by the short id (``"qu2020"``); a user's own claims may
name a paper registered here with :func:`register_paper`, or none.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Paper", "PAPERS", "paper_reference", "register_paper"]


@dataclass(frozen=True)
class Paper:
    """A bibliographic reference.

    Parameters
    ----------
    id : str
        Short id used in claim ids (``"qu2020"``).
    authors : tuple of str
        Authors in the order of the paper.
    title : str
    venue : str
        Where it appeared (or "arXiv preprint").
    year : int
    arxiv : str or None
        arXiv identifier (``"2006.06626"``), None when the paper has none.
    url : str or None
        A stable address of the paper when it has no arXiv id.
    """

    id: str
    authors: tuple
    title: str
    venue: str
    year: int
    arxiv: str | None = None
    url: str | None = None

    @property
    def link(self):
        """The arXiv abstract page, else `url`, else None."""
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else self.url

    def citation(self):
        """One-line citation: ``Authors. Title. Venue, year. arXiv:id.``

        Examples
        --------
        >>> from netmarl_verify.verify import paper_reference
        >>> paper_reference("qu2020").citation()[:40]
        'G. Qu, Y. Lin, A. Wierman, N. Li. Scalab'
        """
        parts = [", ".join(self.authors) + ".", self.title + ".", f"{self.venue}, {self.year}."]
        if self.arxiv:
            parts.append(f"arXiv:{self.arxiv}.")
        elif self.url:
            parts.append(self.url)
        return " ".join(parts)


PAPERS: dict[str, Paper] = {}


def register_paper(paper):
    """Add (or replace) a paper of the references table; returns it."""
    if not isinstance(paper, Paper):
        raise TypeError(f"register_paper expects a Paper, got {type(paper).__name__}")
    PAPERS[paper.id] = paper
    return paper


def paper_reference(paper_id):
    """The :class:`Paper` registered under `paper_id`, or None when there is none."""
    return PAPERS.get(paper_id)


for _p in (
    Paper("qu2020", ("G. Qu", "Y. Lin", "A. Wierman", "N. Li"),
          "Scalable Multi-Agent Reinforcement Learning for Networked Systems with Average Reward",
          "Advances in Neural Information Processing Systems 33 (NeurIPS)", 2020, arxiv="2006.06626"),
    Paper("ying2023", ("D. Ying", "Y. Ding", "A. Koppel", "J. Lavaei"),
          "Scalable Multi-Agent Reinforcement Learning with General Utilities",
          "arXiv preprint", 2023, arxiv="2302.07938"),
    Paper("gu2021", ("H. Gu", "X. Guo", "X. Wei", "R. Xu"),
          "Mean-Field Multi-Agent Reinforcement Learning: A Decentralized Network Approach",
          "arXiv preprint (journal version: Mathematics of Operations Research 50(1), 2025)", 2021,
          arxiv="2108.02731"),
    Paper("chen2024", ("D. Chen", "Z. Zhang", "X. Kuang", "X. Shen", "O. Ozer", "Q. Zhang"),
          "Convergence Rates of Bayesian Network Policy Gradient for Cooperative Multi-Agent "
          "Reinforcement Learning", "OpenReview", 2024, url="https://openreview.net/forum?id=tLHd9gg57A"),
    Paper("zhang2025", ("Z. Zhang", "M. S. Oh", "F. Hairi", "Z. Luo", "A. Velasquez", "J. Liu"),
          "Finite-Time Global Optimality Convergence in Deep Neural Actor-Critic Methods for "
          "Decentralized Multi-Agent Reinforcement Learning",
          "Proceedings of the 42nd International Conference on Machine Learning (ICML)", 2025,
          arxiv="2505.18433"),
):
    register_paper(_p)
del _p
