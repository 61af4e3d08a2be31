"""loyalist: customer loyalty, churn-risk and customer-value analysis for data-science teams."""

from loyalist.errors import LoyalistError

__version__ = "0.1.0"

__all__ = ["LoyalistError", "__version__"]
